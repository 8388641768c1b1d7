import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StatusSyncCore
import StatusSyncDelivery
import StatusSyncStore

public typealias AppRequestContext = BasicRequestContext

/// Everything `serve` wires together, built by the CLI (or a test) and passed in.
public struct ServeDependencies<Store: CallStore>: Sendable {
    public var config: AppConfig
    public var store: Store
    public var delivery: DeliveryService?
    public var authenticator: AgentAuthenticator?
    public var registry: PrometheusCollectorRegistry?
    public var backlogCount: (@Sendable () async -> Int?)?
    public var state: ServerState
    public var logger: Logger

    public init(config: AppConfig, store: Store, delivery: DeliveryService?, authenticator: AgentAuthenticator?,
                registry: PrometheusCollectorRegistry?, backlogCount: (@Sendable () async -> Int?)?,
                state: ServerState = ServerState(), logger: Logger) {
        self.config = config
        self.store = store
        self.delivery = delivery
        self.authenticator = authenticator
        self.registry = registry
        self.backlogCount = backlogCount
        self.state = state
        self.logger = logger
    }
}

public func buildRouter<Store: CallStore>(_ deps: ServeDependencies<Store>) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    PluginController(
        store: deps.store, pluginKeys: deps.config.pluginKeys, rules: deps.config.pluginBodyRules,
        authenticator: deps.authenticator, trigger: deps.delivery, state: deps.state,
        maxBodyBytes: deps.config.maxBodyBytes, logger: deps.logger
    ).addRoutes(to: router)
    HealthController(store: deps.store, state: deps.state).addRoutes(to: router)
    if let registry = deps.registry {
        MetricsController(registry: registry, backlogCount: deps.backlogCount).addRoutes(to: router)
    }
    return router
}

/// The `serve` application: the HTTP server plus the delivery loop in one service group.
public func buildApplication<Store: CallStore>(
    _ deps: ServeDependencies<Store>,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    var app = Application(
        router: buildRouter(deps),
        configuration: .init(address: .hostname(deps.config.listen.host, port: deps.config.listen.port), serverName: "statussync"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: deps.logger
    )
    if let delivery = deps.delivery { app.addServices(delivery) }
    return app
}
