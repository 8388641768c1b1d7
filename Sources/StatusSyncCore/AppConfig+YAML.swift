import Foundation
import Yams

extension AppConfig {
    /// Loads the configuration: the file given (or `STATUSSYNC_CONFIG`), else the YAML text in
    /// `STATUSSYNC_CONFIG_YAML` (for plugin sidecars, which cannot mount files), else the
    /// embedded defaults.
    public static func load(path: String?, catalog: ProviderCatalog, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> AppConfig {
        let chosen = path ?? environment["STATUSSYNC_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        if chosen == nil, let inline = environment["STATUSSYNC_CONFIG_YAML"], !inline.trimmed.isEmpty {
            return try parse(yaml: inline, source: "STATUSSYNC_CONFIG_YAML", catalog: catalog)
        }
        guard let chosen else { return embeddedDefaults(environment: environment, catalog: catalog) }
        let text: String
        do {
            text = try String(contentsOfFile: chosen, encoding: .utf8)
        } catch {
            throw ConfigError("cannot read config file \(chosen): \((error as NSError).localizedDescription); check --config or STATUSSYNC_CONFIG")
        }
        return try parse(yaml: text, source: chosen, catalog: catalog)
    }

    /// Parses YAML. Unknown keys are errors, so a typo never silently falls back to a default.
    public static func parse(yaml: String, source: String, catalog: ProviderCatalog) throws(ConfigError) -> AppConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError("\(source): not valid YAML: \(String(describing: error).excerpt(300))")
        }
        var config = AppConfig()
        config.source = source
        guard let root else { return config }
        let map = try YAMLMap(root, path: "", source: source)
        try map.rejectUnknown(["listen", "database", "pluginKeys", "agentTokenFile", "argoBaseURL", "providers", "tenants", "delivery", "retention", "shutdownGrace", "busyTimeout", "maxBodyBytes", "http", "ui", "argoServer"])

        if let v = try map.string("listen") {
            guard let addr = ListenAddress(parsing: v) else { throw map.error("listen", "must be HOST:PORT such as 127.0.0.1:3001, not \"\(v)\"") }
            config.listen = addr
        }
        if let v = try map.string("database") {
            guard !v.isEmpty else { throw map.error("database", "is empty; give the path of the SQLite file") }
            config.database = v
        }
        if let keys = try map.stringList("pluginKeys") {
            guard !keys.isEmpty, keys.allSatisfy({ !$0.isEmpty }) else { throw map.error("pluginKeys", "must list at least one non-empty key, e.g. [statussync]") }
            config.pluginKeys = keys
        }
        config.agentTokenFile = try map.string("agentTokenFile")
        if let v = try map.string("argoBaseURL") {
            guard let url = URL(string: v), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()), url.host != nil else {
                throw map.error("argoBaseURL", "must be the http(s) address of the Argo UI, e.g. https://argo.example.com, not \"\(v)\"")
            }
            config.argoBaseURL = v
        }
        if let items = try map.list("providers") {
            var names = Set<String>()
            for (i, item) in items.enumerated() {
                let provider = try parseProvider(item, path: "providers[\(i)]", source: source, catalog: catalog)
                guard names.insert(provider.name).inserted else {
                    throw ConfigError("\(source): providers[\(i)].name \"\(provider.name)\" is used twice; give each provider its own name")
                }
                config.providers.append(provider)
            }
        }
        if let items = try map.list("tenants") {
            for (i, item) in items.enumerated() {
                config.tenants.append(try parseTenant(item, path: "tenants[\(i)]", source: source))
            }
        }
        if let node = map.node("delivery") {
            config.delivery = try parseDelivery(YAMLMap(node, path: "delivery", source: source))
        }
        if let d = try map.duration("retention") { config.retention = d }
        if let d = try map.duration("shutdownGrace") { config.shutdownGrace = d }
        if let d = try map.duration("busyTimeout") { config.busyTimeout = d }
        if let n = try map.int("maxBodyBytes") {
            guard n >= 1024 else { throw map.error("maxBodyBytes", "must be at least 1024") }
            config.maxBodyBytes = n
        }
        if let node = map.node("http") {
            config.http = try parseHTTP(YAMLMap(node, path: "http", source: source))
        }
        if let node = map.node("ui") {
            config.ui = try parseUI(YAMLMap(node, path: "ui", source: source))
        }
        if let node = map.node("argoServer") {
            config.argoServer = try parseArgoServer(YAMLMap(node, path: "argoServer", source: source))
        }
        return config
    }

    private static func parseHTTP(_ map: YAMLMap) throws(ConfigError) -> HTTPSettings {
        try map.rejectUnknown(["idleTimeout", "requestTimeout"])
        var http = HTTPSettings()
        for key in ["idleTimeout", "requestTimeout"] {
            guard let value = try map.duration(key) else { continue }
            guard value >= HTTPSettings.minimum else {
                throw map.error(key, "must be at least \(HTTPSettings.minimum), not \(value); it bounds how long a client may hold a connection, e.g. 60s")
            }
            if key == "idleTimeout" { http.idleTimeout = value } else { http.requestTimeout = value }
        }
        return http
    }

    private static func parseArgoServer(_ map: YAMLMap) throws(ConfigError) -> ArgoServerConfig {
        try map.rejectUnknown(["baseURL", "tokenFile", "insecureSkipVerify"])
        guard var base = try map.string("baseURL"), !base.isEmpty else {
            throw map.error("baseURL", "is missing; give the Argo Server's address, e.g. https://argo-server.argo:2746")
        }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw map.error("baseURL", "must be the http(s) address of the Argo Server, e.g. https://argo-server.argo:2746, not \"\(base)\"")
        }
        while base.hasSuffix("/") { base.removeLast() }
        let tokenFile = try map.string("tokenFile")
        if let tokenFile, tokenFile.isEmpty { throw map.error("tokenFile", "is empty; give the path of a file holding an Argo Server token, or leave tokenFile out when the server runs with --auth-mode=server") }
        let insecure = try map.bool("insecureSkipVerify") ?? false
        if insecure, base.lowercased().hasPrefix("http://") {
            throw map.error("insecureSkipVerify", "is for an https baseURL (a self-signed certificate); \(base) is plain http: remove insecureSkipVerify")
        }
        return ArgoServerConfig(baseURL: base, tokenFile: tokenFile, insecureSkipVerify: insecure)
    }

    private static func parseUI(_ map: YAMLMap) throws(ConfigError) -> UISettings {
        try map.rejectUnknown(["listen", "tokenFile"])
        var ui = UISettings()
        if let v = try map.string("listen") {
            guard let addr = ListenAddress(parsing: v) else { throw map.error("listen", "must be HOST:PORT such as 127.0.0.1:3002, not \"\(v)\"") }
            ui.listen = addr
        }
        ui.tokenFile = try map.string("tokenFile")
        return ui
    }

    private static func parseProvider(_ node: Node, path: String, source: String, catalog: ProviderCatalog) throws(ConfigError) -> ProviderConfig {
        let map = try YAMLMap(node, path: path, source: source)
        try map.rejectUnknown(["name", "kind", "baseURL", "tokenFile", "tokenEnv", "app", "pacing", "checks", "webhookSecretFile"])
        guard let kind = try map.string("kind") else {
            throw map.error("kind", "is missing; set it to one of \(catalog.kindList)")
        }
        guard let traits = catalog[kind] else {
            throw map.error("kind", "\"\(kind)\" is not a provider kind; use one of \(catalog.kindList)")
        }
        let name = try map.string("name") ?? kind
        guard !name.isEmpty, !name.contains("://") else { throw map.error("name", "must be a short name such as github, not a URL") }
        var base = try map.string("baseURL") ?? traits.defaultBaseURL ?? ""
        guard !base.isEmpty else { throw map.error("baseURL", "is required for \(kind): give \(traits.baseURLHelp)") }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw map.error("baseURL", "must be an http(s) URL, not \"\(base)\"")
        }
        while base.hasSuffix("/") { base.removeLast() }
        let tokenFile = try map.string("tokenFile")
        let tokenEnv = try map.string("tokenEnv")
        var app: GitHubAppCredentials? = nil
        if let node = map.node("app") {
            guard traits.supportsAppAuth else { throw map.error("app", "is only for kind github (GitHub App authentication); use tokenFile or tokenEnv") }
            let a = try YAMLMap(node, path: "\(path).app", source: source)
            try a.rejectUnknown(["appID", "installationID", "privateKeyFile", "privateKeyEnv"])
            guard let id = try a.string("appID"), !id.isEmpty else { throw a.error("appID", "is missing; give the GitHub App's id") }
            guard id.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw a.error("appID", "must be the GitHub App's numeric id (digits only, as the app's settings page shows it), not \"\(id)\"")
            }
            guard let installation = try a.string("installationID"), !installation.isEmpty else {
                throw a.error("installationID", "is missing; give the installation id (GET /repos/OWNER/REPO/installation shows it)")
            }
            guard installation.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw a.error("installationID", "must be the numeric installation id (digits only), not \"\(installation)\"")
            }
            let keySource: GitHubAppCredentials.PrivateKeySource
            switch (try a.string("privateKeyFile"), try a.string("privateKeyEnv")) {
            case (let file?, nil) where !file.isEmpty: keySource = .file(file)
            case (nil, let env?) where !env.isEmpty: keySource = .environment(env)
            case (nil, nil):
                throw a.error("privateKeyFile", "is missing; give the app's private key (PEM) as privateKeyFile (a file) or privateKeyEnv (an environment variable)")
            case (_?, _?): throw a.error("privateKeyEnv", "is set together with privateKeyFile; keep only one of them")
            default: throw a.error("privateKeyFile", "is empty; give a file path (privateKeyFile) or a variable name (privateKeyEnv)")
            }
            app = GitHubAppCredentials(appID: id, installationID: installation, privateKey: keySource)
        }
        let token: ProviderConfig.TokenSource
        switch (tokenFile, tokenEnv, app) {
        case (let f?, nil, nil): token = .file(f)
        case (nil, let e?, nil): token = .environment(e)
        case (nil, nil, let a?): token = .githubApp(a)
        case (nil, nil, nil):
            throw map.error("tokenFile", "is missing; give tokenFile (a file holding the token) or tokenEnv (an environment variable)\(traits.supportsAppAuth ? ", or app (GitHub App credentials)" : "")")
        default: throw map.error("tokenEnv", "is set together with another credential; keep only one of tokenFile, tokenEnv\(traits.supportsAppAuth ? " and app" : "")")
        }
        var pacing: Pacing? = traits.defaultPacing
        if let node = map.node("pacing") {
            let p = try YAMLMap(node, path: "\(path).pacing", source: source)
            try p.rejectUnknown(["burst", "perMinute"])
            let burst = try p.int("burst") ?? Pacing.githubDefault.burst
            let perMinute = try p.double("perMinute") ?? Pacing.githubDefault.perMinute
            guard burst >= 1 else { throw p.error("burst", "must be at least 1") }
            guard perMinute > 0 else { throw p.error("perMinute", "must be greater than 0") }
            pacing = Pacing(burst: burst, perMinute: perMinute)
        }
        let checks = try map.bool("checks") ?? false
        if checks {
            guard traits.supportsCheckRuns else {
                throw map.error("checks", "is only for kind github: check runs are a GitHub feature; remove checks or use a github provider")
            }
            guard app != nil else {
                throw map.error("checks", "needs app: GitHub lets only GitHub Apps create check runs, and this provider authenticates with a token; configure app: {appID, installationID, privateKeyFile} instead of tokenFile/tokenEnv, or remove checks: true to report commit statuses")
            }
        }
        let webhookSecretFile = try map.string("webhookSecretFile")
        if let webhookSecretFile {
            guard traits.supportsCheckRuns else {
                throw map.error("webhookSecretFile", "is only for kind github: it verifies the GitHub App's webhooks (the Re-run button of check runs); remove it")
            }
            guard app != nil else {
                throw map.error("webhookSecretFile", "needs app: webhooks come from a GitHub App, and this provider authenticates with a token; configure app: {appID, installationID, privateKeyFile}, or remove webhookSecretFile")
            }
            guard !webhookSecretFile.isEmpty else { throw map.error("webhookSecretFile", "is empty; give the path of the file holding the GitHub App's webhook secret") }
        }
        var provider = ProviderConfig(name: name, kind: kind, baseURL: base, token: token, pacing: pacing)
        provider.checks = checks
        provider.webhookSecretFile = webhookSecretFile
        return provider
    }

    private static func parseTenant(_ node: Node, path: String, source: String) throws(ConfigError) -> TenantConfig {
        let map = try YAMLMap(node, path: path, source: source)
        try map.rejectUnknown(["name", "tokenFile", "namespaces", "repos"])
        guard let name = try map.string("name"), !name.isEmpty else { throw map.error("name", "is missing; give the tenant a name") }
        guard let tokenFile = try map.string("tokenFile") else { throw map.error("tokenFile", "is missing; give the file that holds this tenant's bearer token") }
        let namespaces = try map.stringList("namespaces") ?? []
        let repos = try map.stringList("repos") ?? []
        guard !namespaces.isEmpty else { throw map.error("namespaces", "is empty; list the Argo namespaces this tenant may report from") }
        guard !repos.isEmpty else { throw map.error("repos", "is empty; list the repos this tenant may report to, e.g. [\"my-org/*\"]") }
        return TenantConfig(name: name, tokenFile: tokenFile, namespaces: namespaces, repos: repos)
    }

    private static func parseDelivery(_ map: YAMLMap) throws(ConfigError) -> DeliverySettings {
        try map.rejectUnknown(["maxAttempts", "maxAge", "backoffBase", "backoffCap", "timeout", "concurrency", "maxDeferral"])
        var d = DeliverySettings()
        if let n = try map.int("maxAttempts") {
            guard n >= 1 else { throw map.error("maxAttempts", "must be at least 1") }
            d.maxAttempts = n
        }
        if let v = try map.duration("maxAge") { d.maxAge = v }
        if let v = try map.duration("backoffBase") { d.backoffBase = v }
        if let v = try map.duration("backoffCap") { d.backoffCap = v }
        if let v = try map.duration("timeout") {
            guard v.milliseconds >= 100 else { throw map.error("timeout", "must be at least 100ms") }
            d.timeout = v
        }
        if let n = try map.int("concurrency") {
            guard (1...256).contains(n) else { throw map.error("concurrency", "must be between 1 and 256") }
            d.concurrency = n
        }
        if let v = try map.duration("maxDeferral") { d.maxDeferral = v }
        guard d.backoffBase <= d.backoffCap else { throw map.error("backoffBase", "(\(d.backoffBase)) is larger than backoffCap (\(d.backoffCap))") }
        return d
    }
}

/// A YAML mapping with typed getters whose errors name the file, line and key path.
struct YAMLMap {
    let pairs: [(key: String, value: Node, line: Int?)]
    let path: String
    let source: String
    let line: Int?

    init(_ node: Node, path: String, source: String) throws(ConfigError) {
        self.path = path
        self.source = source
        self.line = node.mark?.line
        guard case .mapping(let mapping) = node else {
            let place = path.isEmpty ? "the top level" : path
            throw ConfigError("\(source)\(node.mark.map { ":\($0.line)" } ?? ""): \(place) must be a mapping of keys to values")
        }
        var pairs: [(String, Node, Int?)] = []
        for (k, v) in mapping {
            pairs.append((k.scalar?.string ?? "", v, k.mark?.line))
        }
        self.pairs = pairs
    }

    func fullKey(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ what: String) -> ConfigError {
        let at = pairs.first(where: { $0.key == key })?.line ?? line
        return ConfigError("\(source)\(at.map { ":\($0)" } ?? ""): \(fullKey(key)) \(what)")
    }

    func rejectUnknown(_ known: [String]) throws(ConfigError) {
        for pair in pairs where !known.contains(pair.key) {
            throw ConfigError("\(source)\(pair.line.map { ":\($0)" } ?? ""): unknown key \(fullKey(pair.key)); known keys here: \(known.joined(separator: ", "))")
        }
    }

    func node(_ key: String) -> Node? {
        guard let node = pairs.first(where: { $0.key == key })?.value else { return nil }
        if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null", s.style == .plain { return nil }
        return node
    }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let s) = node else { throw error(key, "must be a single value, not a list or mapping") }
        return s.string
    }

    func int(_ key: String) throws(ConfigError) -> Int? {
        guard let text = try string(key) else { return nil }
        guard let n = Int(text) else { throw error(key, "must be a whole number, not \"\(text)\"") }
        return n
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "must be true or false, not \"\(text)\"")
        }
    }

    func double(_ key: String) throws(ConfigError) -> Double? {
        guard let text = try string(key) else { return nil }
        guard let n = Double(text), n.isFinite else { throw error(key, "must be a number, not \"\(text)\"") }
        return n
    }

    func duration(_ key: String) throws(ConfigError) -> ConfigDuration? {
        guard let text = try string(key) else { return nil }
        guard let d = ConfigDuration(parsing: text) else { throw error(key, "must be \(ConfigDuration.syntaxHelp), not \"\(text)\"") }
        return d
    }

    func list(_ key: String) throws(ConfigError) -> [Node]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let seq) = node else { throw error(key, "must be a list") }
        return Array(seq)
    }

    func stringList(_ key: String) throws(ConfigError) -> [String]? {
        guard let items = try list(key) else { return nil }
        var out: [String] = []
        for item in items {
            guard case .scalar(let s) = item else { throw error(key, "must be a list of strings") }
            out.append(s.string)
        }
        return out
    }
}
