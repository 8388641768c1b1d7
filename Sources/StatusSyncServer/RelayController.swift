import Foundation
import Hummingbird
import Logging
import NIOCore
import StatusSyncCore
import StatusSyncProviders

/// `statussync relay`: the plugin sidecar of the central deployment (docs/design.md#replies). Stateless: it
/// checks the agent token, answers 400 and `{}` itself, forwards calls of its keys to the central
/// `serve` with the tenant token and returns the reply unchanged. When the central service is
/// unreachable or answers 5xx it answers `Running` with a 15 s requeue, so the agent asks again
/// with the identical body and nothing is lost or doubled (the central service deduplicates).
public struct RelayController: Sendable {
    let upstreamURL: String
    let pluginKeys: [String]
    let authorizer: CallAuthorizer?
    let tenantToken: String?
    let http: ProviderHTTPClient
    let maxBodyBytes: Int
    let logger: Logger

    public static let requeue = "15s"

    public init(upstream: String, pluginKeys: [String], authorizer: CallAuthorizer?, tenantToken: String?,
                http: ProviderHTTPClient, maxBodyBytes: Int = 1 << 20, logger: Logger) {
        var base = upstream
        while base.hasSuffix("/") { base.removeLast() }
        self.upstreamURL = base + "/api/v1/template.execute"
        self.pluginKeys = pluginKeys
        self.authorizer = authorizer
        self.tenantToken = tenantToken
        self.http = http
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.post("/api/v1/template.execute") { request, _ in
            await self.execute(request)
        }
        router.get("/healthz") { _, _ in
            JSONResponse.make(.ok, "{\"status\":\"ok\"}")
        }
    }

    func execute(_ request: Request) async -> Response {
        if let authorizer, authorizer.authorize(request.headers[.authorization]) == nil {
            return JSONResponse.error(.forbidden, "statussync relay: missing or wrong bearer token; send Authorization: Bearer <token from --agent-token-file>")
        }
        let data: Data
        let args: ExecuteTemplateArgs
        switch await PluginCallBody.read(request, limit: maxBodyBytes, who: "statussync relay") {
        case .failure(let rejection): return rejection.response
        case .success(let body): (data, args) = body
        }
        guard args.claimedPlugin(keys: pluginKeys) != nil else {
            return JSONResponse.make(.ok, "{}")
        }
        var headers = [("Content-Type", "application/json"), ("User-Agent", "statussync-relay")]
        if let tenantToken { headers.append(("Authorization", "Bearer \(tenantToken)")) }
        let workflow = "\(args.workflow.namespace)/\(args.workflow.name)"
        switch await http.send(method: .POST, url: upstreamURL, headers: headers, body: data) {
        case .success(let response) where response.status < 500:
            let contentType = response.header("Content-Type") ?? "application/json"
            return Response(status: .init(code: response.status), headers: [.contentType: contentType],
                            body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
        case .success(let response):
            logger.warning("central service answered an error; the agent will ask again", metadata: ["status": "\(response.status)", "workflow": "\(workflow)"])
            return unavailable("answered HTTP \(response.status)")
        case .failure(.transport(let reason)):
            logger.warning("central service unreachable; the agent will ask again", metadata: ["error": "\(reason)", "workflow": "\(workflow)"])
            return unavailable("is unreachable (\(reason))")
        }
    }

    private func unavailable(_ why: String) -> Response {
        let reply = PluginReply(phase: .running, message: "statussync relay: the central service at \(upstreamURL) \(why); asking again in \(Self.requeue)",
                                requeue: Self.requeue)
        return JSONResponse.make(.ok, reply.jsonText)
    }
}

/// The relay's HTTP server.
public func buildRelayApplication(
    _ controller: RelayController, listen: ListenAddress, http: HTTPSettings = HTTPSettings(), logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: AppRequestContext.self)
    controller.addRoutes(to: router)
    return Application(
        router: router,
        server: .guardedHTTP1(http, logger: logger),
        configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "statussync-relay"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
}
