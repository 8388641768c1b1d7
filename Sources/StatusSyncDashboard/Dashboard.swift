import Hummingbird
import HummingbirdCore
import Logging
import StatusSyncCore

/// The read-only web dashboard (docs/design.md#dashboard): its own listener, server-rendered
/// pages from templates embedded in the binary, one stylesheet, no script.
public enum Dashboard {
    /// Refuses an address outside loopback without a token: the pages show workflow names,
    /// repositories and provider errors.
    public static func checkExposure(_ ui: UISettings) throws(ConfigError) {
        if let listen = ui.listen, !listen.isLoopback, ui.tokenFile == nil {
            throw ConfigError("ui.listen \(listen) is not a loopback address: set ui.tokenFile so the dashboard asks for a token, or listen on 127.0.0.1 and use kubectl port-forward")
        }
    }

    public static func router(_ deps: DashboardDependencies) throws -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: DashboardGuard(token: deps.token))
        DashboardController(deps: deps, pages: try DashboardPages()).addRoutes(to: router)
        return router
    }

    /// The dashboard's HTTP server, stopped gracefully with the rest of `serve`. `server` is the
    /// plugin listener's own (with its timeouts and connection guard), so both listeners treat
    /// hostile clients alike.
    public static func application(_ deps: DashboardDependencies, server: HTTPServerBuilder,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        Application(
            router: try router(deps),
            server: server,
            configuration: .init(address: .hostname(deps.listen.host, port: deps.listen.port), serverName: "statussync-ui"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: deps.logger
        )
    }
}
