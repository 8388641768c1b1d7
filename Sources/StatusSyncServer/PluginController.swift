import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import StatusSyncCore
import StatusSyncDelivery
import StatusSyncStore

/// `POST /api/v1/template.execute` (CONTRACT §2). Order of checks: bearer token (403, nothing
/// recorded), ExecuteTemplateArgs shape (400, nothing recorded), plugin key (`{}` for others),
/// then our key: validate, record in one transaction, reply after the commit.
public struct PluginController<Store: CallStore>: Sendable {
    let store: Store
    let pluginKeys: [String]
    let rules: PluginBodyRules
    let authenticator: AgentAuthenticator?
    let trigger: (any DeliveryTrigger)?
    let state: ServerState
    let maxBodyBytes: Int
    let logger: Logger

    public init(store: Store, pluginKeys: [String], rules: PluginBodyRules, authenticator: AgentAuthenticator?,
                trigger: (any DeliveryTrigger)?, state: ServerState, maxBodyBytes: Int, logger: Logger) {
        self.store = store
        self.pluginKeys = pluginKeys
        self.rules = rules
        self.authenticator = authenticator
        self.trigger = trigger
        self.state = state
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.post("/api/v1/template.execute") { request, context in
            await self.execute(request)
        }
    }

    func execute(_ request: Request) async -> Response {
        if let authenticator, !authenticator.isAuthorized(request.headers[.authorization]) {
            count("unauthorized")
            return JSONResponse.error(.forbidden, "statussync: missing or wrong bearer token; send Authorization: Bearer <token from agentTokenFile>")
        }
        if state.isDraining {
            count("unavailable")
            return JSONResponse.error(.serviceUnavailable, "statussync is shutting down; the agent should retry")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            count("invalid")
            return JSONResponse.error(.contentTooLarge, "statussync: request body larger than \(maxBodyBytes) bytes; keep the plugin body small (raise maxBodyBytes in the config if needed)")
        }
        let data = Data(buffer: buffer)
        let args: ExecuteTemplateArgs
        do {
            args = try ExecuteTemplateArgs.parse(data)
        } catch {
            count("invalid")
            return JSONResponse.error(.badRequest, "statussync: \(error.message)")
        }
        guard let (key, body) = args.claimedPlugin(keys: pluginKeys) else {
            count("foreign")
            return JSONResponse.make(.ok, "{}")
        }

        let explicitKey = body["key"]?.stringValue.map(\.trimmed).flatMap { $0.isEmpty ? nil : $0 }
        let call = IncomingCall(
            receivedAt: Date(), workflow: args.workflow, templateName: args.templateName, pluginKey: key,
            argsText: String(decoding: data, as: UTF8.self), bodyCanonical: body.canonicalText, explicitKey: explicitKey,
            request: Result { () throws(PluginBodyError) in try StatusRequest.parse(body: body, workflow: args.workflow, rules: rules) }
        )
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
        return JSONResponse.make(.ok, result.reply.jsonText)
    }

    private func count(_ outcome: String) {
        StatusMetrics.call(outcome)
    }
}
