import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StatusSyncCore
import StatusSyncDashboard
import StatusSyncDelivery
import StatusSyncProviders
import StatusSyncServer
import StatusSyncStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Argo executor plugin server and the background delivery loop.",
        discussion: """
            Listens for POST /api/v1/template.execute (plus /healthz, /readyz, /metrics, and GitHub App \
            webhooks at POST /api/v1/github/webhook for the Re-run button of check runs), records every \
            call and status update in SQLite (WAL, synchronous=FULL) before replying, and delivers the \
            updates to the configured providers with retries. Migrations are applied at start. \
            SIGTERM/SIGINT stop gracefully: new calls get 503, in-flight provider calls get shutdownGrace.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Address to listen on, e.g. 127.0.0.1:3001; overrides `listen:`.", valueName: "host:port"))
    var listen: String?

    @Option(name: .long, help: ArgumentHelp("Serve the read-only web dashboard on this address, e.g. 127.0.0.1:3002; overrides `ui.listen:`. Outside loopback it needs `ui.tokenFile`.", valueName: "host:port"))
    var uiListen: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        if let listen, ListenAddress(parsing: listen) == nil {
            throw ValidationError("--listen must be HOST:PORT such as 127.0.0.1:3001, not \"\(listen)\"")
        }
        if let uiListen, ListenAddress(parsing: uiListen) == nil {
            throw ValidationError("--ui-listen must be HOST:PORT such as 127.0.0.1:3002, not \"\(uiListen)\"")
        }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var config = try global.loadConfig()
        if let listen { config.listen = ListenAddress(parsing: listen)! }
        if let uiListen { config.ui.listen = ListenAddress(parsing: uiListen)! }
        // Before anything listens: a dashboard outside loopback needs its token.
        try Dashboard.checkExposure(config.ui)
        let uiToken = try config.ui.tokenFile.map { path throws(ConfigError) in try SecretFile.read(path, what: "ui.tokenFile") }
        let webhookSecrets = try WebhookSecrets(config.providers.compactMap { p in
            p.webhookSecretFile.map { WebhookSecrets.Source(provider: p.name, file: $0) }
        })
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { LogfmtHandler(label: $0, level: level) }
        let logger = Logger(label: "statussync")

        if !config.listen.isLoopback && config.agentTokenFile == nil && config.tenants.isEmpty {
            throw CLIError("refusing to listen on \(config.listen) without auth: set agentTokenFile (or tenants) in the config, or listen on 127.0.0.1")
        }
        let authorizer = try CallAuthorizer.make(agentTokenFile: config.agentTokenFile, tenants: config.tenants)

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        // The checkpointer copies the log beside the writer; the writer's own checkpoint is a backstop.
        let database = try AppDatabase.openForWriting(path: config.database, busyTimeout: config.busyTimeout.seconds,
                                                      autoCheckpointPages: 8000, logger: logger)
        let checkpointer = try WALCheckpointer(path: config.database, busyTimeout: config.busyTimeout.seconds)
        let store = SQLiteStore(database: database)
        let http = ProviderHTTPClient(timeout: config.delivery.timeout.duration, connectionsPerHost: config.delivery.concurrency)
        let providers: [any StatusProvider]
        do {
            providers = try ProviderRegistry.make(config.providers, http: http)
        } catch {
            try? await http.shutdown()
            throw error
        }
        if providers.isEmpty {
            logger.warning("no provider configured: calls will be answered with a Failed node until one is (set GITHUB_TOKEN or providers: in the config)")
        }
        // Its own client: the Argo Server may need insecureSkipVerify, which no git host gets.
        let argoHTTP = config.argoServer.map { ProviderHTTPClient(timeout: config.delivery.timeout.duration, connectionsPerHost: 2,
                                                                  verifyCertificates: !$0.insecureSkipVerify) }
        let resubmitter = config.argoServer.flatMap { c in argoHTTP.map { ArgoServerClient(c, http: $0) } }
        let delivery = DeliveryService(store: store, providers: providers, settings: config.delivery,
                                       shutdownGrace: config.shutdownGrace, logger: logger,
                                       resubmitter: resubmitter, reruns: store)
        let state = ServerState()
        let backlog = BacklogMonitor(store: store, delivery: delivery, logger: logger)
        var deps = ServeDependencies(config: config, store: store, delivery: delivery, authorizer: authorizer,
                                     registry: registry, beforeScrape: { await backlog.check() },
                                     state: state, logger: logger)
        deps.webhook = GitHubWebhookController(secrets: webhookSecrets, store: store, delivery: delivery, canResubmit: resubmitter != nil,
                                               state: state, maxBodyBytes: config.maxBodyBytes, logger: logger)
        let settings = config
        let sqlite = database.sqliteSummary()
        let app = buildApplication(deps) { port in
            logger.notice("listening", metadata: [
                "address": "\(settings.listen.host):\(port)", "database": "\(settings.database)", "sqlite": "\(sqlite)", "config": "\(settings.source)",
                "providers": "\(providers.map { "\($0.name)(\($0.kind))" }.joined(separator: ","))",
                "auth": "\(Self.authSummary(settings))",
                "webhook": "\(webhookSecrets.isEmpty ? "off (no webhookSecretFile)" : "\(GitHubWebhookController.path) (\(webhookSecrets.providers.joined(separator: ",")))")",
                "argoServer": "\(settings.argoServer?.baseURL ?? "none")",
            ])
        }
        let retention = RetentionService(store: store, retention: config.retention, logger: logger)
        let checkpoints = CheckpointService(checkpointer: checkpointer, logger: logger)
        var background: [any Service] = [retention, checkpoints, backlog]
        if let uiListen = config.ui.listen {
            let dashboard = DashboardDependencies(store: store, providers: config.providers, delivery: delivery, token: uiToken,
                                                  listen: uiListen, version: StatusSyncVersion.current, logger: logger)
            background.insert(try Dashboard.application(dashboard, server: .guardedHTTP1(config.http, logger: logger)) { port in
                logger.notice("dashboard listening", metadata: ["address": "\(uiListen.host):\(port)", "auth": "\(uiToken == nil ? "none (loopback)" : "ui.tokenFile")"])
            }, at: 0)
        }
        let services = serveServices(deps, app: app, background: background)
        // Past shutdownGrace plus a margin, stop waiting and cancel what is left.
        do {
            try await ServiceGroup.runUntilSignalled(services, maximumGracefulShutdown: .milliseconds(config.shutdownGrace.milliseconds + 5000),
                                                     http: http, logger: logger)
        } catch {
            try? await argoHTTP?.shutdown()
            throw error
        }
        try? await argoHTTP?.shutdown()
        logger.notice("stopped")
    }

    /// How callers are authenticated, for the start-up line: "agentTokenFile", "2 tenants",
    /// "agentTokenFile, 2 tenants" or "none".
    static func authSummary(_ config: AppConfig) -> String {
        var parts: [String] = []
        if config.agentTokenFile != nil { parts.append("agentTokenFile") }
        if !config.tenants.isEmpty { parts.append("\(config.tenants.count) tenant\(config.tenants.count == 1 ? "" : "s")") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
