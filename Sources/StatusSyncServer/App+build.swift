import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StatusSyncCore
import StatusSyncDelivery
import StatusSyncProviders
import StatusSyncStore

public typealias AppRequestContext = BasicRequestContext

/// Everything `serve` wires together, built by the CLI (or a test) and passed in.
public struct ServeDependencies<Store: CallStore>: Sendable {
    public var config: AppConfig
    public var store: Store
    public var delivery: DeliveryService?
    public var authorizer: CallAuthorizer?
    public var registry: PrometheusCollectorRegistry?
    /// Run before /metrics answers, to measure what is read at scrape time (the backlog gauges).
    public var beforeScrape: (@Sendable () async -> Void)?
    public var state: ServerState
    public var logger: Logger
    /// GitHub's webhooks (the Re-run button of check runs); nil: not served.
    public var webhook: GitHubWebhookController?

    public init(config: AppConfig, store: Store, delivery: DeliveryService?, authorizer: CallAuthorizer?,
                registry: PrometheusCollectorRegistry?, beforeScrape: (@Sendable () async -> Void)?,
                state: ServerState = ServerState(), logger: Logger) {
        self.config = config
        self.store = store
        self.delivery = delivery
        self.authorizer = authorizer
        self.registry = registry
        self.beforeScrape = beforeScrape
        self.state = state
        self.logger = logger
    }
}

public func buildRouter<Store: CallStore>(_ deps: ServeDependencies<Store>) -> ServeRoutes<Store> {
    let router = Router(context: AppRequestContext.self)
    let plugin = PluginController(
        store: deps.store, pluginKeys: deps.config.pluginKeys, rules: deps.config.pluginBodyRules(catalog: ProviderRegistry.catalog),
        authorizer: deps.authorizer, trigger: deps.delivery, state: deps.state,
        maxBodyBytes: deps.config.maxBodyBytes, logger: deps.logger
    )
    plugin.addRoutes(to: router)
    deps.webhook?.addRoutes(to: router)
    HealthController(store: deps.store, state: deps.state).addRoutes(to: router)
    if let registry = deps.registry {
        MetricsController(registry: registry, beforeScrape: deps.beforeScrape).addRoutes(to: router)
    }
    return ServeRoutes(plugin: plugin, router: router)
}

/// The HTTP server of `serve`. The delivery loop and the other background services run beside
/// it in one service group (see `serveServices`).
public func buildApplication<Store: CallStore>(
    _ deps: ServeDependencies<Store>,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(deps),
        server: .guardedHTTP1(deps.config.http, logger: deps.logger),
        configuration: .init(address: .hostname(deps.config.listen.host, port: deps.config.listen.port), serverName: "statussync"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: deps.logger
    )
}

/// The services of `serve`, in start order. Graceful shutdown runs in reverse: the drain gate
/// first (new calls get 503), then the delivery loop (in-flight calls get shutdownGrace), then the
/// background jobs, and the HTTP server last.
public func serveServices<Store: CallStore>(
    _ deps: ServeDependencies<Store>, app: some ApplicationProtocol, background: [any Service]
) -> [any Service] {
    var services: [any Service] = [app]
    services.append(contentsOf: background)
    if let delivery = deps.delivery { services.append(delivery) }
    services.append(DrainGate(state: deps.state, logger: deps.logger))
    return services
}
