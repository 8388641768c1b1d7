import Foundation

/// The statussync configuration (docs/design.md#configuration). Built from a YAML file or the embedded defaults.
public struct AppConfig: Sendable {
    public var listen: ListenAddress = .defaultAddress
    public var database: String = "./statussync.sqlite"
    public var pluginKeys: [String] = ["statussync"]
    public var agentTokenFile: String?
    public var argoBaseURL: String?
    public var providers: [ProviderConfig] = []
    public var tenants: [TenantConfig] = []
    public var delivery = DeliverySettings()
    public var retention: ConfigDuration = .seconds(30 * 86_400)
    public var shutdownGrace: ConfigDuration = .seconds(10)
    /// How long a write waits for the SQLite lock before the call is answered 503 (extension).
    public var busyTimeout: ConfigDuration = .seconds(5)
    /// Largest accepted request body (extension).
    public var maxBodyBytes: Int = 1 << 20
    /// The read-only web dashboard (off unless `ui.listen` or `--ui-listen` is set).
    public var ui = UISettings()
    /// Idle and request timeouts of the HTTP server.
    public var http = HTTPSettings()
    /// The Argo Server that re-runs workflows from their check runs (docs/design.md#re-run).
    public var argoServer: ArgoServerConfig?
    /// Where this configuration came from, for messages: a file path or "embedded defaults".
    public var source: String = "embedded defaults"

    public init() {}

    /// The embedded defaults: no auth, loopback only, providers from `GITHUB_TOKEN` / `GITLAB_TOKEN`
    /// (for the kinds the catalog knows, at their public default base URLs).
    public static func embeddedDefaults(environment: [String: String], catalog: ProviderCatalog) -> AppConfig {
        var config = AppConfig()
        for (kind, variable) in [("github", "GITHUB_TOKEN"), ("gitlab", "GITLAB_TOKEN")] {
            guard let token = environment[variable], !token.isEmpty, let traits = catalog[kind], let base = traits.defaultBaseURL else { continue }
            config.providers.append(ProviderConfig(name: kind, kind: kind, baseURL: base, token: .environment(variable), pacing: traits.defaultPacing))
        }
        return config
    }

    /// What the plugin-body validator needs.
    public func pluginBodyRules(catalog: ProviderCatalog) -> PluginBodyRules {
        PluginBodyRules(providers: providers.compactMap { p in
            catalog[p.kind].map { .init(name: p.name, traits: $0, hasApp: p.hasApp, checks: p.checks) }
        }, argoBaseURL: argoBaseURL)
    }
}

public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static let defaultAddress = ListenAddress(host: "127.0.0.1", port: 3001)

    /// `127.0.0.1:3001`, `[::1]:3001`, `:3001` (all interfaces), `localhost:8080`.
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        var host: String
        var portText: Substring
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { return nil }
            host = String(t[t.index(after: t.startIndex)..<close])
            let rest = t[t.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = t.lastIndex(of: ":") else { return nil }
            host = String(t[..<colon])
            portText = t[t.index(after: colon)...]
        }
        if host.isEmpty { host = "0.0.0.0" }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// 127.0.0.0/8, ::1 and localhost: the addresses `serve` may use without auth.
    public var isLoopback: Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" { return true }
        let parts = h.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

public struct ProviderConfig: Sendable, Hashable {
    public enum TokenSource: Sendable, Hashable, CustomStringConvertible {
        case file(String)
        case environment(String)
        /// GitHub App: installation tokens are minted from the app's private key.
        case githubApp(GitHubAppCredentials)
        case none

        public var description: String {
            switch self {
            case .file(let path): return "tokenFile \(path)"
            case .environment(let name): return "tokenEnv \(name)"
            case .githubApp(let app): return "GitHub App \(app.appID) installation \(app.installationID)"
            case .none: return "no token"
            }
        }
    }

    public var name: String
    /// `github`, `gitlab`, … (a kind of the provider catalog).
    public var kind: String
    /// The API root (github, bitbucket-cloud) or instance root (gitlab, gitea, bitbucket-dc), no trailing slash.
    public var baseURL: String
    public var token: TokenSource
    public var pacing: Pacing?
    /// `checks: true`: report this provider's updates as GitHub check runs unless a body says
    /// `report: status` (needs `app:`; docs/design.md#check-runs).
    public var checks: Bool = false

    /// The GitHub App's webhook secret: `serve` takes GitHub's webhooks signed with it at
    /// `POST /api/v1/github/webhook` (docs/design.md#re-run).
    public var webhookSecretFile: String?
    /// Whether it authenticates as a GitHub App (the only way to create check runs).
    public var hasApp: Bool {
        if case .githubApp = token { return true }
        return false
    }

    public init(name: String, kind: String, baseURL: String, token: TokenSource, pacing: Pacing?) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.token = token
        self.pacing = pacing
    }
}

/// `app:` of a github provider: authenticate as a GitHub App installation.
public struct GitHubAppCredentials: Sendable, Hashable {
    /// Where the app's private key (PEM, as GitHub gives it) comes from.
    public enum PrivateKeySource: Sendable, Hashable, CustomStringConvertible {
        /// `privateKeyFile`: a file (the central service mounts it from a Secret).
        case file(String)
        /// `privateKeyEnv`: an environment variable (a plugin sidecar cannot mount files).
        case environment(String)

        public var description: String {
            switch self {
            case .file(let path): return "privateKeyFile \(path)"
            case .environment(let name): return "privateKeyEnv \(name)"
            }
        }
    }

    /// Digits only (checked at load): it is written into the JWT as is.
    public var appID: String
    /// Digits only (checked at load): it is part of the token request's path.
    public var installationID: String
    public var privateKey: PrivateKeySource

    public init(appID: String, installationID: String, privateKey: PrivateKeySource) {
        self.appID = appID
        self.installationID = installationID
        self.privateKey = privateKey
    }

    public init(appID: String, installationID: String, privateKeyFile: String) {
        self.init(appID: appID, installationID: installationID, privateKey: .file(privateKeyFile))
    }
}

/// A token bucket: `burst` calls at once, refilled at `perMinute`.
public struct Pacing: Sendable, Hashable {
    public var burst: Int
    public var perMinute: Double

    public init(burst: Int, perMinute: Double) {
        self.burst = burst
        self.perMinute = perMinute
    }

    public static let githubDefault = Pacing(burst: 20, perMinute: 80)
}

public struct TenantConfig: Sendable, Hashable {
    public var name: String
    public var tokenFile: String
    public var namespaces: [String]
    public var repos: [String]

    public init(name: String, tokenFile: String, namespaces: [String], repos: [String]) {
        self.name = name
        self.tokenFile = tokenFile
        self.namespaces = namespaces
        self.repos = repos
    }
}

public struct DeliverySettings: Sendable, Hashable {
    public var maxAttempts: Int = 20
    public var maxAge: ConfigDuration = .seconds(24 * 3600)
    public var backoffBase: ConfigDuration = .seconds(2)
    public var backoffCap: ConfigDuration = .seconds(600)
    /// Per provider call (connect + request + response).
    public var timeout: ConfigDuration = .seconds(10)
    /// Provider calls in flight at once, across all contexts (extension).
    public var concurrency: Int = 8
    /// How long a pending or running update may wait behind final ones while its provider's
    /// budget is short; past it, it ranks among the finals by its accept time
    /// (docs/design.md#delivery-order).
    public var maxDeferral: ConfigDuration = .seconds(300)

    public init() {}
}

/// `ui:`: the read-only web dashboard, on a listener of its own (docs/design.md#dashboard).
/// `argoServer:`: where the Re-run button of a check run resubmits the workflow.
public struct ArgoServerConfig: Sendable, Hashable {
    /// The Argo Server's address, e.g. https://argo-server.argo:2746 (no trailing slash).
    public var baseURL: String
    /// A file holding a token the Argo Server accepts (`Bearer ` in front or not). None when the
    /// server runs with `--auth-mode=server`.
    public var tokenFile: String?
    /// Accept any TLS certificate: the Argo Server's default is a self-signed one, made at start.
    public var insecureSkipVerify: Bool = false

    public init(baseURL: String, tokenFile: String?, insecureSkipVerify: Bool = false) {
        self.baseURL = baseURL
        self.tokenFile = tokenFile
        self.insecureSkipVerify = insecureSkipVerify
    }
}

public struct UISettings: Sendable, Hashable {
    /// Where the dashboard listens; nil: no dashboard.
    public var listen: ListenAddress?
    /// A file holding the token every page asks for (HTTP Basic, the token as password). Required
    /// when `listen` is not a loopback address.
    public var tokenFile: String?

    public init() {}
}
