import Logging
import ServiceLifecycle

/// The first service to hear SIGTERM (it is listed last): from then on new plugin calls get 503
/// and /readyz fails, while the delivery loop finishes its in-flight calls and the HTTP server
/// keeps answering. Then the other services stop in reverse order.
public struct DrainGate: Service {
    let state: ServerState
    let logger: Logger

    public init(state: ServerState, logger: Logger) {
        self.state = state
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        state.startDraining()
        logger.notice("shutting down: new plugin calls get 503 while in-flight deliveries finish")
    }
}
