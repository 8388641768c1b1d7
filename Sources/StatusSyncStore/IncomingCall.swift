import Foundation
import StatusSyncCore

/// A plugin call of our key, decoded and validated, ready to be recorded.
///
/// A class: a call passes through the group commit's queue, batch and transaction on the single
/// writer thread, and each copy of a struct this size would retain and release every field there.
public final class IncomingCall: Sendable {
    public let receivedAt: Date
    public let workflow: WorkflowRef
    public let templateName: String
    public let pluginKey: String
    /// The ExecuteTemplateArgs exactly as received.
    public let argsText: String
    /// The plugin body as canonical JSON (sorted keys, compact).
    public let bodyCanonical: String
    /// The body's `key` field when it is a string, even if the body is otherwise invalid.
    public let explicitKey: String?
    public let request: Result<StatusRequest, PluginBodyError>
    /// The tenant whose token made the call (central mode); idempotency keys are per tenant.
    public let tenant: String?

    public init(receivedAt: Date, workflow: WorkflowRef, templateName: String, pluginKey: String, argsText: String,
                bodyCanonical: String, explicitKey: String?, request: Result<StatusRequest, PluginBodyError>, tenant: String? = nil) {
        self.receivedAt = receivedAt
        self.workflow = workflow
        self.templateName = templateName
        self.pluginKey = pluginKey
        self.argsText = argsText
        self.bodyCanonical = bodyCanonical
        self.explicitKey = explicitKey
        self.request = request
        self.tenant = tenant
    }

    /// The stored idempotency key of a call with an explicit `key` (scoped to the tenant). Calls
    /// without one are identified by workflow uid + template name + body, found through their
    /// update's subject (see `SQLiteStore.scanSubject`).
    var explicitIdempotencyKey: String? {
        explicitKey.map { key in (tenant.map { "tenant:\($0)\n" } ?? "") + "key:" + key }
    }
}

/// The result of recording a call: the reply to send, and whether new work was queued.
public struct AcceptResult: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// A new update was recorded with this delivery status.
        case accepted(DeliveryStatus)
        /// The same call again: answered from the first call's record.
        case repeated
        /// Invalid body, or an idempotency key reused with another body.
        case rejected
    }

    public var callID: Int64
    public var updateID: Int64?
    public var outcome: Outcome
    public var reply: PluginReply
    /// `reply` as JSON, exactly as recorded with the call (made once, on the writer).
    public var replyJSON: String

    init(callID: Int64, updateID: Int64?, outcome: Outcome, reply: PluginReply, replyJSON: String? = nil) {
        self.callID = callID
        self.updateID = updateID
        self.outcome = outcome
        self.reply = reply
        self.replyJSON = replyJSON ?? reply.jsonText
    }

    /// Whether the delivery loop has new work.
    public var queuedWork: Bool { outcome == .accepted(.queued) }
}

/// Where the HTTP layer records calls. One call, one transaction; the reply only after commit.
public protocol CallStore: Sendable {
    func accept(_ call: IncomingCall) async throws -> AcceptResult
    /// Why the store cannot take writes now (`/readyz`), or nil when it can.
    func readinessProblem() async -> String?
}
