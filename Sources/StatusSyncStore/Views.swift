import Foundation
import StatusSyncCore

/// An update as the CLI shows it (`history`, `backlog`, `show`; docs/design.md#cli-json).
public struct UpdateView: Sendable, Encodable, Equatable {
    public struct Delivery: Sendable, Encodable, Equatable {
        public var status: DeliveryStatus
        public var attempts: Int
        public var lastError: String?
        public var nextAttemptAt: String?
        public var deliveredAt: String?
        /// duplicate: the update it repeats; superseded: the newer update; stale: the final update.
        public var linkedUpdateId: Int64?

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(status, forKey: .status)
            try c.encode(attempts, forKey: .attempts)
            try c.encode(lastError, forKey: .lastError)
            try c.encode(nextAttemptAt, forKey: .nextAttemptAt)
            try c.encode(deliveredAt, forKey: .deliveredAt)
            if let linkedUpdateId { try c.encode(linkedUpdateId, forKey: .linkedUpdateId) }
        }

        enum CodingKeys: String, CodingKey { case status, attempts, lastError, nextAttemptAt, deliveredAt, linkedUpdateId }
    }

    public var id: Int64
    public var createdAt: String
    public var provider: String
    public var repo: String
    public var sha: String?
    public var pr: Int?
    public var ref: String?
    public var context: String
    public var state: NeutralState
    public var description: String
    public var targetURL: String?
    public var comment: String?
    public var wait: Bool
    public var workflow: WorkflowRef
    public var delivery: Delivery
    /// A commit status or a GitHub check run (docs/design.md#check-runs).
    public var report: ReportKind = .status
    /// GitHub's id of the check run, once created or adopted (checks only).
    public var checkRunId: Int64? = nil

    enum CodingKeys: String, CodingKey {
        case id, createdAt, provider, repo, sha, pr, ref, context, state, description, targetURL, comment, wait, workflow, delivery, report, checkRunId
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(provider, forKey: .provider)
        try c.encode(repo, forKey: .repo)
        try c.encode(sha, forKey: .sha)
        try c.encode(pr, forKey: .pr)
        try c.encode(ref, forKey: .ref)
        try c.encode(context, forKey: .context)
        try c.encode(state, forKey: .state)
        try c.encode(description, forKey: .description)
        try c.encode(targetURL, forKey: .targetURL)
        try c.encode(comment, forKey: .comment)
        try c.encode(wait, forKey: .wait)
        try c.encode(workflow, forKey: .workflow)
        try c.encode(delivery, forKey: .delivery)
        try c.encode(report.rawValue, forKey: .report)
        if report == .check { try c.encode(checkRunId, forKey: .checkRunId) }
    }
}

/// A recorded plugin call (`calls`, and `show`'s `calls`).
public struct CallView: Sendable, Encodable, Equatable {
    public var id: Int64
    public var receivedAt: String
    public var workflow: WorkflowRef
    public var template: String
    public var pluginKey: String
    public var key: String?
    public var body: JSONValue
    public var reply: JSONValue?
    public var error: String?
    public var updateId: Int64?
    /// Identical calls answered from this record (agent retries, requeue polls).
    public var repeats: Int
    /// The tenant whose token made the call (central mode), else nil.
    public var tenant: String?
    /// The ExecuteTemplateArgs exactly as received (not in `--json` of `calls`; see `args`).
    public var args: String

    enum CodingKeys: String, CodingKey { case id, receivedAt, workflow, template, pluginKey, key, body, reply, error, updateId, repeats, tenant }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(receivedAt, forKey: .receivedAt)
        try c.encode(workflow, forKey: .workflow)
        try c.encode(template, forKey: .template)
        try c.encode(pluginKey, forKey: .pluginKey)
        try c.encode(key, forKey: .key)
        try c.encode(body, forKey: .body)
        if let error {
            try c.encode(error, forKey: .error)
        } else {
            try c.encode(reply, forKey: .reply)
        }
        try c.encode(updateId, forKey: .updateId)
        try c.encode(repeats, forKey: .repeats)
        if let tenant { try c.encode(tenant, forKey: .tenant) }
    }
}

/// One delivery attempt (`show`).
public struct AttemptView: Sendable, Encodable, Equatable {
    public var at: String
    public var durationMs: Int
    public var operation: String
    public var httpStatus: Int?
    public var errorClass: String
    public var error: String?

    enum CodingKeys: String, CodingKey { case at, durationMs, operation, httpStatus, errorClass, error }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(at, forKey: .at)
        try c.encode(durationMs, forKey: .durationMs)
        try c.encode(operation, forKey: .operation)
        try c.encode(httpStatus, forKey: .httpStatus)
        try c.encode(errorClass, forKey: .errorClass)
        try c.encode(error, forKey: .error)
    }
}

/// `show ID`: the update, the calls that asked for it, and every attempt.
public struct UpdateDetail: Sendable, Encodable, Equatable {
    public var update: UpdateView
    public var calls: [CallView]
    public var attempts: [AttemptView]
    /// Re-runs of the workflow requested from this update's check run (docs/design.md#re-run).
    public var reruns: [RerunView] = []

    enum ExtraKeys: String, CodingKey { case calls, attempts, reruns }

    public func encode(to encoder: any Encoder) throws {
        try update.encode(to: encoder)
        var c = encoder.container(keyedBy: ExtraKeys.self)
        try c.encode(calls, forKey: .calls)
        try c.encode(attempts, forKey: .attempts)
        if update.report == .check { try c.encode(reruns, forKey: .reruns) }
    }
}
