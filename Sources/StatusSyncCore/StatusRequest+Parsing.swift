import Foundation

/// What the validator needs to know about the server: its providers and the Argo UI address.
public struct PluginBodyRules: Sendable {
    public struct Provider: Sendable, Hashable {
        public var name: String
        public var traits: ProviderTraits
        /// Authenticates as a GitHub App (needed for check runs).
        public var hasApp: Bool
        /// `checks: true`: its updates are check runs unless the body says `report: status`.
        public var checks: Bool
        public init(name: String, traits: ProviderTraits, hasApp: Bool = false, checks: Bool = false) {
            self.name = name
            self.traits = traits
            self.hasApp = hasApp
            self.checks = checks
        }
    }

    public var providers: [Provider]
    public var argoBaseURL: String?

    public init(providers: [Provider], argoBaseURL: String?) {
        self.providers = providers
        self.argoBaseURL = argoBaseURL
    }
}

extension StatusRequest {
    /// Validates a plugin body. Every error names the field, what is wrong and how to fix it.
    public static func parse(
        body: JSONValue, workflow: WorkflowRef, rules: PluginBodyRules
    ) throws(PluginBodyError) -> StatusRequest {
        guard case .object(let fields) = body else {
            throw PluginBodyError("the plugin body is \(body.typeDescription); write it as an object, e.g. statussync: {repo: owner/name, sha: \"{{workflow.parameters.sha}}\", state: \"{{workflow.status}}\"}")
        }
        let reader = FieldReader(fields: fields)

        let provider = try resolveProvider(reader.string("provider"), rules: rules)
        let repo = try parseRepo(reader, traits: provider.traits)
        let sha = try reader.string("sha").map(parseSHA)
        if provider.traits.requiresFullSHA, let sha, sha.utf8.count != 40 {
            throw PluginBodyError("sha \"\(sha.excerpt(70))\" is not a full commit id: \(provider.traits.kind) needs all 40 hex characters (git rev-parse HEAD), or pr for a pull request")
        }
        let pr = try reader.positiveInt("pr")
        guard sha != nil || pr != nil else {
            throw PluginBodyError("missing sha or pr: set sha to the commit (e.g. \"{{workflow.parameters.revision}}\") or pr to the pull request number")
        }
        let ref = try reader.string("ref").flatMap(nonEmpty)
        let context = try reader.string("context", alias: "label").map { (c: String) throws(PluginBodyError) -> String in
            let trimmed = c.trimmed
            guard !trimmed.isEmpty else { throw PluginBodyError("context is empty: give the status a name such as \"ci/argo\", or leave context out for \"\(StatusRequest.defaultContext)\"") }
            guard trimmed.unicodeScalars.count <= 255 else { throw PluginBodyError("context is longer than 255 characters: use a shorter status name") }
            return trimmed
        } ?? StatusRequest.defaultContext
        if provider.traits.splitsContextAtSlash, context.hasSuffix("/") {
            throw PluginBodyError("context \"\(context.excerpt(60))\" ends in '/': \(provider.traits.kind) splits it at the last '/' into genre and name, so the name would be empty; write e.g. \"ci/argo\"")
        }

        guard let stateText = try reader.string("state", alias: "status") else {
            throw PluginBodyError("missing state: set state to \(NeutralState.acceptedSpellings), e.g. state: \"{{workflow.status}}\"")
        }
        guard let state = NeutralState(parsing: stateText) else {
            throw PluginBodyError("unknown state \"\(stateText.excerpt(60))\": use \(NeutralState.acceptedSpellings)")
        }

        let description = try reader.string("description").flatMap(nonEmpty)
            ?? state.defaultDescription(workflowName: workflow.name.isEmpty ? "(unnamed)" : workflow.name)

        var targetURL = try reader.string("targetURL", alias: "target_url").flatMap(nonEmpty)
        if let url = targetURL {
            try checkURL(url, field: "targetURL")
        } else if let base = rules.argoBaseURL, !workflow.name.isEmpty {
            targetURL = argoWorkflowURL(base: base, workflow: workflow)
        }
        if provider.traits.requiresTargetURL, targetURL == nil {
            throw PluginBodyError("\(provider.traits.kind) requires a link on every status: set targetURL in the plugin body or argoBaseURL in the statussync config")
        }

        let comment = try reader.string("comment").flatMap(nonEmpty)
        if comment != nil, pr == nil {
            throw PluginBodyError("comment needs pr: a sticky comment is posted on a pull request, so set pr to its number")
        }
        let key = try reader.string("key").flatMap(nonEmpty)
        if let key, key.utf8.count > 1024 {
            throw PluginBodyError("key is longer than 1024 bytes: use a shorter idempotency key such as \"{{workflow.uid}}/{{node.name}}\"")
        }
        let wait = try reader.bool("wait") ?? false
        let report = try parseReport(reader.string("report"), provider: provider)
        let page = try CheckPageInput.parse(body)

        return StatusRequest(
            provider: provider.name, providerKind: provider.traits.kind, repo: repo, sha: sha, pr: pr, ref: ref,
            context: context, state: state, description: description, targetURL: targetURL, comment: comment,
            key: key, wait: wait, report: report, page: page
        )
    }

    /// `report: status | check`, else the provider's default (`checks:`). A check run needs a
    /// GitHub App (docs/design.md#check-runs).
    private static func parseReport(_ text: String?, provider: PluginBodyRules.Provider) throws(PluginBodyError) -> ReportKind {
        guard let text = text?.trimmed, !text.isEmpty else { return provider.checks ? .check : .status }
        guard let report = ReportKind(rawValue: text.lowercased()) else {
            throw PluginBodyError("unknown report \"\(text.excerpt(40))\": use \"status\" (a commit status) or \"check\" (a GitHub check run)")
        }
        if report == .check {
            guard provider.traits.supportsCheckRuns else {
                throw PluginBodyError("report: check is only for github providers, and \(provider.name) is \(provider.traits.kind): remove report or set it to \"status\"")
            }
            guard provider.hasApp else {
                throw PluginBodyError("report: check needs a GitHub App: GitHub lets only GitHub Apps create check runs, and provider \(provider.name) uses a token; configure app: {appID, installationID, privateKeyFile} for it in the statussync config, or set report to \"status\"")
            }
        }
        return report
    }

    /// `<argoBaseURL>/workflows/<namespace>/<name>`.
    public static func argoWorkflowURL(base: String, workflow: WorkflowRef) -> String {
        var root = base
        while root.hasSuffix("/") { root.removeLast() }
        return "\(root)/workflows/\(workflow.namespace)/\(workflow.name)"
    }

    private static func resolveProvider(_ name: String?, rules: PluginBodyRules) throws(PluginBodyError) -> PluginBodyRules.Provider {
        var names: String { rules.providers.map(\.name).joined(separator: ", ") }
        guard let name = name?.trimmed, !name.isEmpty else {
            if rules.providers.count == 1 { return rules.providers[0] }
            if rules.providers.isEmpty {
                throw PluginBodyError("no provider is configured on this server: add one under providers: in the statussync config (or set GITHUB_TOKEN)")
            }
            throw PluginBodyError("missing provider: this server has several (\(names)); set provider to one of them")
        }
        if let match = rules.providers.first(where: { $0.name == name }) { return match }
        if name.contains("://") {
            throw PluginBodyError("provider must be the name of a configured provider, not a URL: use one of \(names.isEmpty ? "(none configured)" : names)")
        }
        throw PluginBodyError("unknown provider \"\(name.excerpt(60))\": use one of \(names.isEmpty ? "(none configured; add one under providers: in the config)" : names)")
    }

    private static func parseRepo(_ reader: FieldReader, traits: ProviderTraits) throws(PluginBodyError) -> String {
        let example = traits.repoExample
        let path: String
        if let owner = try reader.string("owner").flatMap(nonEmpty) {
            guard let name = try reader.string("repo").flatMap(nonEmpty) else {
                throw PluginBodyError("owner is set but repo is missing: set repo to the repository name, or repo to \(example) alone")
            }
            path = name.contains("/") ? name : "\(owner)/\(name)"
        } else if let full = try reader.string("repo").flatMap(nonEmpty) {
            path = full
        } else {
            throw PluginBodyError("missing repo: set repo to \(example)")
        }
        let (normalized, valid) = repoPath(path.trimmed, nested: traits.nestedRepoPath, spaces: traits.repoSpaces)
        guard valid else {
            throw PluginBodyError("invalid repo \"\(normalized.excerpt(80))\": write it as \(example) (letters, digits, '.', '_'\(traits.repoSpaces ? ", '-' and spaces inside a name" : " and '-'") only; no URL)")
        }
        return normalized
    }

    /// `text` without the slashes around it and one trailing `.git`, and whether that is a valid
    /// repository path: segments of letters, digits, '.', '_' and '-' (not "." or ".."), two of them
    /// (or more where the provider nests groups). Worked out on the UTF-8 bytes: every agent call
    /// goes through here, and String's Character operations (hasSuffix, split) cost microseconds.
    /// Only ASCII is stripped, so the cuts fall between characters.
    private static func repoPath(_ text: String, nested: Bool, spaces: Bool = false) -> (path: String, valid: Bool) {
        var bytes = Substring(text).utf8[...]
        while bytes.first == UInt8(ascii: "/") { bytes.removeFirst() }
        while bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        if bytes.count >= 4, bytes.suffix(4).elementsEqual(".git".utf8) { bytes.removeLast(4) }
        let path = String(Substring(bytes))
        var segments = 0
        var segmentStart = bytes.startIndex
        var index = bytes.startIndex
        while true {
            let end = index == bytes.endIndex
            if end || bytes[index] == UInt8(ascii: "/") {
                let segment = bytes[segmentStart..<index]
                if segment.isEmpty || segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) { return (path, false) }
                if spaces, segment.first == UInt8(ascii: " ") || segment.last == UInt8(ascii: " ") { return (path, false) }
                segments += 1
                if end { break }
                segmentStart = bytes.index(after: index)
            } else if !(bytes[index] < 0x80 && (ASCII.isRepoCharacter(bytes[index]) || (spaces && bytes[index] == UInt8(ascii: " ")))) {
                return (path, false)
            }
            index = bytes.index(after: index)
        }
        return (path, nested ? segments >= 2 : segments == 2)
    }

    private static func parseSHA(_ text: String) throws(PluginBodyError) -> String {
        let trimmed = text.trimmed
        // A git sha is nearly always lowercase hex already: no Unicode case mapping then.
        let sha = trimmed.utf8.allSatisfy({ $0 < 0x41 || $0 > 0x5A }) ? trimmed : trimmed.lowercased()
        guard (7...64).contains(sha.utf8.count), sha.allASCII(ASCII.isHexDigit) else {
            throw PluginBodyError("invalid sha \"\(text.excerpt(70))\": give the commit hash (7 to 64 hex characters), or pr for a pull request")
        }
        return sha
    }

    private static func checkURL(_ text: String, field: String) throws(PluginBodyError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
            throw PluginBodyError("\(field) \"\(text.excerpt(80))\" is not an http(s) URL: give a full link such as https://argo.example.com/workflows/ci/build-1")
        }
    }

    private static func nonEmpty(_ s: String) -> String? {
        let t = s.trimmed
        return t.isEmpty ? nil : t
    }
}

/// Reads plugin-body fields: strings, with the few documented exceptions (pr may be a number,
/// wait a boolean), and aliases that must agree when both are given.
private struct FieldReader {
    let fields: [String: JSONValue]

    func string(_ name: String, alias: String? = nil) throws(PluginBodyError) -> String? {
        let primary = try scalarText(name)
        guard let alias else { return primary }
        let secondary = try scalarText(alias)
        if let primary, let secondary, primary != secondary {
            throw PluginBodyError("\(name) and \(alias) are both set, to different values: keep only one of them")
        }
        return primary ?? secondary
    }

    private func scalarText(_ name: String) throws(PluginBodyError) -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case .string(let s)?:
            // A NUL would end the text early where it is stored or sent: refuse it rather than cut.
            guard !s.utf8.contains(0) else {
                throw PluginBodyError("\(name) contains a NUL character (\\u0000): remove it from the template's \(name)")
            }
            return s
        case let other?:
            throw PluginBodyError("\(name) is \(other.typeDescription); write it as a string (quote it in YAML)")
        }
    }

    func positiveInt(_ name: String) throws(PluginBodyError) -> Int? {
        switch fields[name] {
        case nil, .null?: return nil
        case .number(let n)? where n >= 1 && n.rounded() == n && n < 1e12: return Int(n)
        case .string(let s)?:
            let t = s.trimmed.drop(while: { $0 == "#" || $0 == "!" })
            if t.isEmpty { return nil }
            if let n = Int(t), n >= 1 { return n }
            throw PluginBodyError("\(name) \"\(s.excerpt(40))\" is not a pull request number: give a positive integer such as \"42\"")
        case let other?:
            throw PluginBodyError("\(name) is \(other.typeDescription): give the pull request number, such as \"42\"")
        }
    }

    func bool(_ name: String) throws(PluginBodyError) -> Bool? {
        switch fields[name] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case .string(let s)?:
            switch s.trimmed.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0", "": return false
            default: throw PluginBodyError("\(name) \"\(s.excerpt(40))\" is not a boolean: use \"true\" or \"false\"")
            }
        case let other?:
            throw PluginBodyError("\(name) is \(other.typeDescription): use \"true\" or \"false\"")
        }
    }
}
