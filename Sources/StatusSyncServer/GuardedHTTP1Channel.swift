import HummingbirdCore
import Logging
import NIOCore
import StatusSyncCore

/// Hummingbird's HTTP/1.1 child channel with the connection guard added (`HTTPConnectionGuard`,
/// `RequestByteGate`) and the idle timeout of `http.idleTimeout`.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    private let http1: HTTP1Channel

    init(responder: @escaping HTTPChannelHandler.Responder, settings: HTTPSettings, logger: Logger) {
        let requestTimeout = TimeAmount.milliseconds(settings.requestTimeout.milliseconds)
        // Hummingbird's idle timer closes a connection when no request part has been read, or no
        // response finished, for this long (and leaves one alone while its response is being
        // produced); a request that trickles in is the guard's business.
        http1 = HTTP1Channel(responder: responder, configuration: .init(
            additionalChannelHandlers: [HTTPConnectionGuard(requestTimeout: requestTimeout, logger: logger)],
            idleTimeout: .milliseconds(settings.idleTimeout.milliseconds)
        ))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let connection = try operations.handler(type: HTTPConnectionGuard.self)
            try operations.addHandler(RequestByteGate(connection: connection), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the timeouts of `settings` and the connection guard, for serve and relay.
    public static func guardedHTTP1(_ settings: HTTPSettings, logger: Logger) -> HTTPServerBuilder {
        .init { responder in GuardedHTTP1Channel(responder: responder, settings: settings, logger: logger) }
    }
}
