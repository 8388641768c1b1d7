import Foundation

/// The provider-independent state of a commit status. Argo phases and neutral names, in any case,
/// map onto it; anything else is invalid (never silently "error").
public enum NeutralState: String, Sendable, CaseIterable, Codable {
    case pending, running, success, failure, error, cancelled, skipped

    /// Accepts the Argo phases (`Pending Running Succeeded Failed Error Skipped Omitted`) and the
    /// neutral names, case-insensitively.
    public init?(parsing text: String) {
        switch text.trimmed.lowercased() {
        case "pending": self = .pending
        case "running": self = .running
        case "success", "succeeded": self = .success
        case "failure", "failed": self = .failure
        case "error": self = .error
        case "cancelled": self = .cancelled
        case "skipped", "omitted": self = .skipped
        default: return nil
        }
    }

    /// Terminal states end a workflow's report for a context; `pending`/`running` after one is stale.
    public var isTerminal: Bool {
        switch self {
        case .pending, .running: return false
        default: return true
        }
    }

    /// `Workflow <name> is pending`, `… succeeded`, … (docs/design.md#plugin-body).
    public func defaultDescription(workflowName: String) -> String {
        let tail: String
        switch self {
        case .pending: tail = "is pending"
        case .running: tail = "is running"
        case .success: tail = "succeeded"
        case .failure: tail = "failed"
        case .error: tail = "errored"
        case .cancelled: tail = "was cancelled"
        case .skipped: tail = "was skipped"
        }
        return "Workflow \(workflowName) \(tail)"
    }

    public static let acceptedSpellings =
        "pending, running, success, failure, error, cancelled, skipped, or an Argo phase (Pending, Running, Succeeded, Failed, Error, Skipped, Omitted)"
}
