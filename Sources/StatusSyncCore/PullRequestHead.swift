/// A pull request's head as a provider reports it, pinned once per workflow.
public struct PullRequestHead: Sendable, Equatable {
    /// The full commit hash, lower case.
    public var sha: String
    /// The source branch, when the provider says.
    public var sourceBranch: String?

    public init(sha: String, sourceBranch: String?) {
        self.sha = sha
        self.sourceBranch = sourceBranch
    }
}
