/// A validated plugin body: one desired commit status (docs/design.md#plugin-body).
public struct StatusRequest: Sendable, Hashable {
    public var provider: String
    public var providerKind: String
    public var repo: String
    /// Lower-case hex. Nil when the status targets `pr` and the head is not pinned yet.
    public var sha: String?
    public var pr: Int?
    public var ref: String?
    public var context: String
    public var state: NeutralState
    /// The description to send (default applied, not yet trimmed to the provider's limit).
    public var description: String
    public var targetURL: String?
    public var comment: String?
    /// The explicit idempotency key, when the body gave one.
    public var key: String?
    public var wait: Bool
    /// A commit status or a GitHub check run (docs/design.md#check-runs).
    public var report: ReportKind

    public init(
        provider: String, providerKind: String, repo: String, sha: String?, pr: Int?, ref: String?,
        context: String, state: NeutralState, description: String, targetURL: String?, comment: String?,
        key: String?, wait: Bool, report: ReportKind = .status
    ) {
        self.provider = provider
        self.providerKind = providerKind
        self.repo = repo
        self.sha = sha
        self.pr = pr
        self.ref = ref
        self.context = context
        self.state = state
        self.description = description
        self.targetURL = targetURL
        self.comment = comment
        self.key = key
        self.wait = wait
        self.report = report
    }

    public static let defaultContext = "argo-workflows"
}

/// How an update is reported: a commit status, or a GitHub check run (docs/design.md#check-runs).
public enum ReportKind: String, Sendable, Hashable, CaseIterable {
    case status
    case check
}

/// What is wrong with a plugin body of our key, and how to fix it. Becomes a `Failed` node.
public struct PluginBodyError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
