/// The git hosting APIs statussync can talk to (the `kind` of a provider in the config).
public enum ProviderKind: String, Sendable, CaseIterable, Codable {
    case github
    case gitlab
    case gitea
    case bitbucketCloud = "bitbucket-cloud"
    case bitbucketDC = "bitbucket-dc"

    /// Description limit in Unicode scalars (CONTRACT §2).
    public var descriptionLimit: Int {
        switch self {
        case .github: return 140
        case .gitlab, .bitbucketCloud, .bitbucketDC: return 255
        case .gitea: return 1024
        }
    }

    /// The state string this provider's API expects (providers.md §10, CONTRACT §2).
    public func providerState(for state: NeutralState) -> String {
        switch self {
        case .github, .gitea:
            switch state {
            case .pending, .running: return "pending"
            case .success, .skipped: return "success"
            case .failure: return "failure"
            case .error, .cancelled: return "error"
            }
        case .gitlab:
            switch state {
            case .pending: return "pending"
            case .running: return "running"
            case .success: return "success"
            case .failure, .error: return "failed"
            case .cancelled: return "canceled"
            case .skipped: return "skipped"
            }
        case .bitbucketCloud, .bitbucketDC:
            switch state {
            case .pending, .running: return "INPROGRESS"
            case .success, .skipped: return "SUCCESSFUL"
            case .failure, .error: return "FAILED"
            case .cancelled: return self == .bitbucketCloud ? "STOPPED" : "CANCELLED"
            }
        }
    }

    /// The default API root a user would paste, when the kind has one.
    public var defaultBaseURL: String? {
        switch self {
        case .github: return "https://api.github.com"
        case .gitlab: return "https://gitlab.com"
        case .bitbucketCloud: return "https://api.bitbucket.org"
        case .gitea, .bitbucketDC: return nil
        }
    }

    /// Whether the repository path may have more than two segments (GitLab subgroups).
    public var allowsNestedRepoPath: Bool { self == .gitlab }

    /// Bitbucket requires a link on every status.
    public var requiresTargetURL: Bool { self == .bitbucketCloud || self == .bitbucketDC }
}
