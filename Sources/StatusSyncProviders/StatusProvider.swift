import Foundation
import StatusSyncCore

/// A commit status to send, as the provider sees it.
public struct StatusDelivery: Sendable, Equatable {
    public var repo: String
    public var sha: String
    public var ref: String?
    public var context: String
    public var state: NeutralState
    public var description: String
    public var targetURL: String?
    /// The pull request the update names, when it names one (Azure DevOps also posts a PR status).
    public var pr: Int?

    public init(repo: String, sha: String, ref: String?, context: String, state: NeutralState, description: String, targetURL: String?, pr: Int? = nil) {
        self.repo = repo
        self.sha = sha
        self.ref = ref
        self.context = context
        self.state = state
        self.description = description
        self.targetURL = targetURL
        self.pr = pr
    }
}

/// How a provider call ended (docs/provider-matrix.md#error-classes).
public struct CallOutcome: Sendable, Equatable {
    public enum Class: Sendable, Equatable {
        case ok
        /// 5xx, timeouts, connection errors: retry with backoff.
        case transient
        /// 429, GitHub 403 with rate-limit signals: wait, and pause the provider.
        case rateLimited(wait: Duration)
        /// Other 4xx: give up with the provider's message.
        case permanent

        /// The `attempts.error_class` spelling.
        public var label: String {
            switch self {
            case .ok: return "ok"
            case .transient: return "transient"
            case .rateLimited: return "rate-limited"
            case .permanent: return "permanent"
            }
        }
    }

    public var errorClass: Class
    public var httpStatus: Int?
    /// The provider's message or the transport error; never contains a token.
    public var message: String?
    public var startedAt: Date
    public var duration: Duration

    public init(errorClass: Class, httpStatus: Int?, message: String?, startedAt: Date, duration: Duration) {
        self.errorClass = errorClass
        self.httpStatus = httpStatus
        self.message = message
        self.startedAt = startedAt
        self.duration = duration
    }
}

/// A git host that takes commit statuses. A new provider is one type conforming to this.
public protocol StatusProvider: Sendable {
    var name: String { get }
    var kind: String { get }
    /// Calls per token are paced by this bucket (nil: unpaced).
    var pacing: Pacing? { get }
    func postStatus(_ status: StatusDelivery) async -> CallOutcome
    /// Looks up a pull request's head commit (and source branch). Set only when the outcome is `.ok`.
    func resolvePullRequestHead(repo: String, pr: Int) async -> (CallOutcome, PullRequestHead?)
    /// Calls the provider's authenticated-identity endpoint (`statussync check`): who the token is.
    func identify() async -> (CallOutcome, identity: String?)
    /// Creates or edits the one comment of `comment.context` on the pull request.
    func upsertComment(repo: String, comment: StickyComment) async -> CallOutcome
}

/// A failed call carried as an error (a GitHub App token request that did not succeed).
extension CallOutcome: Error {}
