/// What the rest of statussync needs to know about a provider kind (`github`, `gitlab`, …)
/// without depending on its client: the config defaults and the plugin-body rules. Each provider
/// type declares its traits; the catalog of all of them is built from the provider registry.
public struct ProviderTraits: Sendable, Hashable {
    /// The `kind` in the config.
    public var kind: String
    /// The API or instance root a user would paste, when the kind has a public default.
    public var defaultBaseURL: String?
    /// What `baseURL` is, for messages ("the API root", "the instance root").
    public var baseURLHelp: String
    /// Pacing applied when the config sets none (GitHub's documented content-creation limit).
    public var defaultPacing: Pacing?
    /// Whether a repository path may have more than two segments (GitLab subgroups).
    public var nestedRepoPath: Bool
    /// Whether every status needs a link (Bitbucket).
    public var requiresTargetURL: Bool
    /// How a repository is written, for messages: `owner/name`, `group/sub/project`, `PROJECT/slug`.
    public var repoExample: String
    /// Whether `app:` (GitHub App credentials) may replace a token.
    public var supportsAppAuth: Bool
    /// Whether `sha` must be the full 40-character commit id (Azure DevOps).
    public var requiresFullSHA: Bool
    /// Whether the context is split at its last `/` (genre/name), so it must not end in `/`.
    public var splitsContextAtSlash: Bool
    /// Whether repository path segments may contain spaces (Azure DevOps project names).
    public var repoSpaces: Bool
    /// Whether updates may be reported as check runs (`checks:`, `report: check`; GitHub).
    public var supportsCheckRuns: Bool

    public init(kind: String, defaultBaseURL: String?, baseURLHelp: String, defaultPacing: Pacing? = nil,
                nestedRepoPath: Bool = false, requiresTargetURL: Bool = false, repoExample: String = "owner/name",
                supportsAppAuth: Bool = false, requiresFullSHA: Bool = false, splitsContextAtSlash: Bool = false,
                repoSpaces: Bool = false, supportsCheckRuns: Bool = false) {
        self.kind = kind
        self.defaultBaseURL = defaultBaseURL
        self.baseURLHelp = baseURLHelp
        self.defaultPacing = defaultPacing
        self.nestedRepoPath = nestedRepoPath
        self.requiresTargetURL = requiresTargetURL
        self.repoExample = repoExample
        self.supportsAppAuth = supportsAppAuth
        self.requiresFullSHA = requiresFullSHA
        self.splitsContextAtSlash = splitsContextAtSlash
        self.repoSpaces = repoSpaces
        self.supportsCheckRuns = supportsCheckRuns
    }
}

/// The provider kinds this build knows, by `kind`.
public struct ProviderCatalog: Sendable {
    public let traits: [String: ProviderTraits]

    public init(_ traits: [ProviderTraits]) {
        self.traits = Dictionary(traits.map { ($0.kind, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public subscript(kind: String) -> ProviderTraits? { traits[kind] }

    /// `github, gitlab, …` for messages.
    public var kindList: String { traits.keys.sorted().joined(separator: ", ") }
}
