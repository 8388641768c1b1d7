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
    /// The check run page's author text (Markdown) and failed steps (docs/design.md#check-run-page).
    public var page: CheckPageInput

    public init(
        provider: String, providerKind: String, repo: String, sha: String?, pr: Int?, ref: String?,
        context: String, state: NeutralState, description: String, targetURL: String?, comment: String?,
        key: String?, wait: Bool, report: ReportKind = .status, page: CheckPageInput = CheckPageInput()
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
        self.page = page
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

/// What a plugin body adds to a check run's page: the author's `summary` (Markdown) and the
/// workflow's failed steps from `failures` (docs/design.md#check-run-page).
public struct CheckPageInput: Sendable, Hashable {
    public var summary: String?
    public var failures: [FailedStep]?

    public init(summary: String? = nil, failures: [FailedStep]? = nil) {
        self.summary = summary
        self.failures = failures
    }

    /// Reads `summary` and `failures` from a plugin body: at accept to validate them, and again
    /// from the recorded body when the check run is delivered.
    public static func parse(_ body: JSONValue) throws(PluginBodyError) -> CheckPageInput {
        var summary: String? = nil
        switch body["summary"] {
        case nil, .null?: break
        case .string(let s)?:
            guard !s.utf8.contains(0) else {
                throw PluginBodyError("summary contains a NUL character (\\u0000): remove it from the template's summary")
            }
            let t = s.trimmed
            summary = t.isEmpty ? nil : t
        case let other?:
            throw PluginBodyError("summary is \(other.typeDescription); write it as a string of Markdown (quote it in YAML)")
        }
        return CheckPageInput(summary: summary, failures: try FailedStep.parseList(body["failures"]))
    }
}
