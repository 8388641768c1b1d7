import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import StatusSyncCore
import StatusSyncDelivery
import StatusSyncStore

/// `POST /api/v1/template.execute` (docs/design.md#architecture). Order of checks: bearer token (403, nothing
/// recorded), ExecuteTemplateArgs shape (400, nothing recorded), a tenant's namespace (403),
/// plugin key (`{}` for others), then our key: validate (a tenant's repo allow-list too), record
/// in one transaction, reply after the commit.
public struct PluginController<Store: CallStore>: Sendable {
    let store: Store
    let pluginKeys: [String]
    let rules: PluginBodyRules
    let authorizer: CallAuthorizer?
    let trigger: (any DeliveryTrigger)?
    let state: ServerState
    let maxBodyBytes: Int
    let logger: Logger

    public init(store: Store, pluginKeys: [String], rules: PluginBodyRules, authorizer: CallAuthorizer?,
                trigger: (any DeliveryTrigger)?, state: ServerState, maxBodyBytes: Int, logger: Logger) {
        self.store = store
        self.pluginKeys = pluginKeys
        self.rules = rules
        self.authorizer = authorizer
        self.trigger = trigger
        self.state = state
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    /// The endpoint the Argo agent calls (docs/design.md#replies).
    static var path: String { "/api/v1/template.execute" }

    func addRoutes(to router: Router<some RequestContext>) {
        router.post(RouterPath(Self.path)) { request, context in
            await self.execute(request)
        }
    }

    func execute(_ request: Request) async -> Response {
        var caller = Caller.open
        if let authorizer {
            guard let known = authorizer.authorize(request.headers[.authorization]) else {
                count("unauthorized")
                return JSONResponse.error(.forbidden, "statussync: missing or wrong bearer token; send Authorization: Bearer <the agent token or a tenant token>")
            }
            caller = known
        }
        if state.isDraining {
            count("unavailable")
            return JSONResponse.error(.serviceUnavailable, "statussync is shutting down; the agent should retry")
        }
        let data: Data
        let args: ExecuteTemplateArgs
        switch await PluginCallBody.read(request, limit: maxBodyBytes, who: "statussync") {
        case .failure(let rejection):
            count("invalid")
            return rejection.response
        case .success(let body):
            (data, args) = body
        }
        if case .tenant(let tenant) = caller, !tenant.allows(namespace: args.workflow.namespace) {
            count("forbidden")
            return JSONResponse.error(.forbidden, "statussync: tenant \(tenant.name) may not report from namespace \"\(args.workflow.namespace)\"; its namespaces are \(tenant.namespaces.joined(separator: ", "))")
        }
        guard let (key, body) = args.claimedPlugin(keys: pluginKeys) else {
            count("foreign")
            return JSONResponse.make(.ok, "{}")
        }

        let call = IncomingCall(args: args, argsText: String(decoding: data, as: UTF8.self), pluginKey: key, body: body, rules: rules,
                                tenant: caller.tenantName) { request in
            guard case .tenant(let tenant) = caller, !tenant.allows(repo: request.repo) else { return nil }
            return PluginBodyError("repo \(request.repo) is not allowed for tenant \(tenant.name) (allowed: \(tenant.repos.map(\.pattern).joined(separator: ", "))); ask the statussync operator to add it to the tenant's repos")
        }
        let result: AcceptResult
        do {
            result = try await store.accept(call)
        } catch {
            count("unavailable")
            logger.error("cannot commit a plugin call; answering 503 so the agent retries", metadata: [
                "workflow": "\(args.workflow.namespace)/\(args.workflow.name)", "error": "\(error)",
            ])
            return JSONResponse.error(.serviceUnavailable, "statussync cannot commit the call right now (\(String(describing: error).excerpt(160))); the agent should retry")
        }
        if result.queuedWork { trigger?.wake() }
        switch result.outcome {
        case .accepted(let status):
            count(status == .queued ? "accepted" : status.rawValue)
            StatusMetrics.update(status)
            logger.info("accepted plugin call", metadata: [
                "workflow": "\(args.workflow.namespace)/\(args.workflow.name)", "update": "\(result.updateID ?? 0)", "delivery": "\(status.rawValue)",
            ])
        case .repeated:
            count("repeated")
            logger.debug("repeated plugin call answered from its record", metadata: [
                "workflow": "\(args.workflow.namespace)/\(args.workflow.name)", "call": "\(result.callID)",
            ])
        case .rejected:
            count("rejected")
            logger.notice("rejected plugin call", metadata: [
                "workflow": "\(args.workflow.namespace)/\(args.workflow.name)", "call": "\(result.callID)", "reason": "\(result.reply.message.excerpt(300))",
            ])
        }
        return JSONResponse.make(.ok, result.replyJSON)
    }

    private func count(_ outcome: String) {
        StatusMetrics.call(outcome)
    }
}
