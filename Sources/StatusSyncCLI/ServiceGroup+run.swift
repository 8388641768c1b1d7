import Logging
import ServiceLifecycle
import StatusSyncProviders

extension ServiceGroup {
    /// Runs `services` until SIGTERM/SIGINT (graceful, in reverse order; cancelled after
    /// `maximumGracefulShutdown` if given), then shuts the provider HTTP client down either way.
    static func runUntilSignalled(_ services: [any Service], maximumGracefulShutdown: Duration? = nil,
                                  http: ProviderHTTPClient, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = maximumGracefulShutdown
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
    }
}
