import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StatusSyncCore
import StatusSyncProviders
import StatusSyncServer

struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the small stateless plugin sidecar that forwards calls to a central statussync serve.",
        discussion: """
            Checks the agent's bearer token, answers 400 and {} (other plugins' templates) itself, and \
            forwards calls of its plugin keys to URL/api/v1/template.execute with the tenant token, \
            returning the reply unchanged. When the central service is unreachable or answers 5xx it \
            answers Running with a 15s requeue, so the agent asks again. Keeps no state. \
            The tenant token comes from --tenant-token-file or STATUSSYNC_TENANT_TOKEN.
            """
    )

    @Option(help: ArgumentHelp("Base URL of the central service, e.g. http://statussync.argo.svc:7313.", valueName: "url"))
    var upstream: String

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen: String = "127.0.0.1:3001"

    @Option(help: ArgumentHelp("Require this bearer token from the agent (normally /var/run/argo/token).", valueName: "file"))
    var agentTokenFile: String?

    @Option(help: ArgumentHelp("File holding this relay's tenant token for the central service.", valueName: "file"))
    var tenantTokenFile: String?

    @Option(name: .customLong("plugin-key"), help: ArgumentHelp("A plugin key to claim (repeatable; default statussync).", valueName: "key"))
    var pluginKeys: [String] = []

    @Option(name: .long, help: ArgumentHelp("Close a keep-alive connection with no request on it after this long (as http.idleTimeout of serve).", valueName: "duration"))
    var idleTimeout: ConfigDuration = HTTPSettings().idleTimeout

    @Option(name: .long, help: ArgumentHelp("Answer 408 to a request not fully received this long after its first byte (as http.requestTimeout of serve).", valueName: "duration"))
    var requestTimeout: ConfigDuration = HTTPSettings().requestTimeout

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard let url = URL(string: upstream), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw ValidationError("--upstream must be the http(s) base URL of the central service, e.g. http://statussync.argo.svc:7313")
        }
        guard ListenAddress(parsing: listen) != nil else { throw ValidationError("--listen must be HOST:PORT such as 127.0.0.1:3001") }
        for (option, value) in [("--idle-timeout", idleTimeout), ("--request-timeout", requestTimeout)] where value < HTTPSettings.minimum {
            throw ValidationError("\(option) must be at least \(HTTPSettings.minimum), not \(value)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { LogfmtHandler(label: $0, level: level) }
        let logger = Logger(label: "statussync-relay")
        let address = ListenAddress(parsing: listen)!
        if !address.isLoopback && agentTokenFile == nil {
            throw CLIError("refusing to listen on \(address) without --agent-token-file; listen on 127.0.0.1 (the agent calls localhost)")
        }
        let authorizer = try CallAuthorizer.make(agentTokenFile: agentTokenFile, tenants: [])
        var tenantToken: String? = nil
        if let tenantTokenFile {
            tenantToken = try SecretFile.read(tenantTokenFile, what: "--tenant-token-file")
        } else if let env = ProcessInfo.processInfo.environment["STATUSSYNC_TENANT_TOKEN"]?.trimmed, !env.isEmpty {
            tenantToken = env
        } else {
            logger.warning("no tenant token (--tenant-token-file or STATUSSYNC_TENANT_TOKEN): calls go upstream without one")
        }
        let http = ProviderHTTPClient(timeout: .seconds(10))
        let controller = RelayController(upstream: upstream, pluginKeys: pluginKeys.isEmpty ? ["statussync"] : pluginKeys,
                                         authorizer: authorizer, tenantToken: tenantToken, http: http, logger: logger)
        let upstreamURL = upstream
        let app = buildRelayApplication(controller, listen: address, http: HTTPSettings(idleTimeout: idleTimeout, requestTimeout: requestTimeout),
                                        logger: logger) { port in
            logger.notice("relay listening", metadata: ["address": "\(address.host):\(port)", "upstream": "\(upstreamURL)"])
        }
        try await ServiceGroup.runUntilSignalled([app], http: http, logger: logger)
    }
}
