import Foundation
import StatusSyncCore
import Synchronization

/// Who made a plugin call, as far as statussync is concerned.
public enum Caller: Sendable, Equatable {
    /// No auth is configured (loopback only).
    case open
    /// The Argo agent's token (`agentTokenFile`): any namespace, any repo.
    case agent
    /// A tenant token: only the tenant's namespaces and repos.
    case tenant(TenantAccess)

    var tenantName: String? {
        if case .tenant(let t) = self { return t.name }
        return nil
    }
}

/// What a tenant may do (docs/design.md#auth).
public struct TenantAccess: Sendable, Equatable {
    public let name: String
    public let namespaces: [String]
    public let repos: [RepoGlob]

    public func allows(namespace: String) -> Bool { namespaces.contains(namespace) || namespaces.contains("*") }
    public func allows(repo: String) -> Bool { repos.contains { $0.matches(repo) } }
}

/// Checks `Authorization: Bearer <token>` against the agent token (`agentTokenFile`, the token the
/// Argo agent writes to /var/run/argo/token) and the tenants' tokens. Comparisons are constant
/// time; token files are re-read (at most once a second) when no token matches, since the agent's
/// init container may have rewritten its file.
public final class CallAuthorizer: Sendable {
    private struct Tokens: Sendable {
        var agent: String?
        var tenants: [(access: TenantAccess, token: String)]
        var loadedAt: ContinuousClock.Instant
    }

    private let agentTokenFile: String?
    private let tenantConfigs: [TenantConfig]
    private let tokens: Mutex<Tokens>

    /// Nil when neither `agentTokenFile` nor `tenants` is configured (no auth).
    public static func make(agentTokenFile: String?, tenants: [TenantConfig]) throws(ConfigError) -> CallAuthorizer? {
        guard agentTokenFile != nil || !tenants.isEmpty else { return nil }
        return try CallAuthorizer(agentTokenFile: agentTokenFile, tenants: tenants)
    }

    public init(agentTokenFile: String?, tenants: [TenantConfig]) throws(ConfigError) {
        self.agentTokenFile = agentTokenFile
        self.tenantConfigs = tenants
        self.tokens = Mutex(try Self.load(agentTokenFile: agentTokenFile, tenants: tenants))
    }

    private static func load(agentTokenFile: String?, tenants: [TenantConfig]) throws(ConfigError) -> Tokens {
        let agent = try agentTokenFile.map { path throws(ConfigError) in try SecretFile.read(path, what: "agentTokenFile") }
        var loaded: [(TenantAccess, String)] = []
        for t in tenants {
            let token = try SecretFile.read(t.tokenFile, what: "tenant \(t.name) tokenFile")
            if token == agent || loaded.contains(where: { $0.1 == token }) {
                throw ConfigError("tenant \(t.name): its token is the same as another tenant's or the agent's; give every tenant its own token")
            }
            loaded.append((TenantAccess(name: t.name, namespaces: t.namespaces, repos: t.repos.map(RepoGlob.init)), token))
        }
        return Tokens(agent: agent, tenants: loaded, loadedAt: .now)
    }

    /// The caller a header belongs to, or nil (HTTP 403).
    public func authorize(_ header: String?) -> Caller? {
        guard let header else { return nil }
        let presented = Self.bearer(header)
        guard !presented.isEmpty else { return nil }
        if let caller = match(presented, tokens.withLock { $0 }) { return caller }
        let reload = tokens.withLock { t -> Bool in ContinuousClock.now - t.loadedAt > .seconds(1) }
        guard reload, let fresh = try? Self.load(agentTokenFile: agentTokenFile, tenants: tenantConfigs) else { return nil }
        tokens.withLock { $0 = fresh }
        return match(presented, fresh)
    }

    private func match(_ presented: String, _ t: Tokens) -> Caller? {
        var found: Caller? = nil
        // Compare against every token so timing does not say which one (or how many) exist.
        if let agent = t.agent, Self.constantTimeEquals(presented, agent) { found = .agent }
        for (access, token) in t.tenants where Self.constantTimeEquals(presented, token) {
            if found == nil { found = .tenant(access) }
        }
        return found
    }

    static func bearer(_ header: String) -> String {
        let trimmed = header.trimmed
        guard trimmed.utf8.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return "" }
        return String(trimmed.dropFirst(7)).trimmed
    }

    /// Compares every byte whatever the first difference, so timing does not reveal the token.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        ConstantTime.equals(a.utf8, b.utf8)
    }
}
