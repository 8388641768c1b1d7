import Foundation
import Testing
@testable import StatusSyncProviders
@testable import StatusSyncCore

@Suite("Configuration (docs/design.md#configuration)")
struct ConfigTests {
    static let contractExample = """
        listen: 127.0.0.1:3001            # default
        database: ./statussync.sqlite      # default; parent directory must exist
        pluginKeys: [statussync]           # default
        agentTokenFile: /var/run/argo/token   # example (no default): require this bearer token
        argoBaseURL: https://argo.example.com
        providers:
          - name: github
            kind: github                   # github | gitlab | gitea | bitbucket-cloud | bitbucket-dc
            baseURL: https://api.github.com
            tokenFile: /etc/statussync/github/token    # or tokenEnv: GITHUB_TOKEN
            pacing: {burst: 20, perMinute: 80}          # github default; others unpaced
        tenants:                           # central service: who may call, from which namespaces, for which repos
          - name: ci
            tokenFile: /etc/statussync/tenants/ci
            namespaces: [ci]
            repos: ["my-org/*"]
        delivery: {maxAttempts: 20, maxAge: 24h, backoffBase: 2s, backoffCap: 10m, timeout: 10s}
        retention: 30d
        shutdownGrace: 10s
        busyTimeout: 5s                    # a write waits this long for the SQLite lock, then 503
        http: {idleTimeout: 60s, requestTimeout: 30s}
        """

    @Test("The contract's example parses to the documented values")
    func contractExample() throws {
        let c = try AppConfig.parse(yaml: Self.contractExample, source: "example.yaml", catalog: ProviderRegistry.catalog)
        #expect(c.listen == ListenAddress(host: "127.0.0.1", port: 3001))
        #expect(c.agentTokenFile == "/var/run/argo/token")
        #expect(c.providers == [ProviderConfig(name: "github", kind: "github", baseURL: "https://api.github.com", token: .file("/etc/statussync/github/token"), pacing: Pacing(burst: 20, perMinute: 80))])
        #expect(c.tenants.first?.repos == ["my-org/*"])
        #expect(c.delivery.maxAttempts == 20)
        #expect(c.delivery.maxAge == .seconds(86_400))
        #expect(c.delivery.backoffCap == .seconds(600))
        #expect(c.retention == .seconds(30 * 86_400))
        #expect(c.http == HTTPSettings(idleTimeout: .seconds(60), requestTimeout: .seconds(30)))
    }

    @Test("http: the timeouts default to 60s and 30s; bad values are named with the fix")
    func httpTimeouts() throws {
        func parse(_ yaml: String) throws(ConfigError) -> AppConfig {
            try AppConfig.parse(yaml: yaml, source: "c.yaml", catalog: ProviderRegistry.catalog)
        }
        func message(_ yaml: String) -> String? {
            do { _ = try parse(yaml); return nil } catch { return error.message }
        }
        #expect(try parse("listen: 127.0.0.1:3001\n").http == HTTPSettings(idleTimeout: .seconds(60), requestTimeout: .seconds(30)))
        #expect(try parse("http: {idleTimeout: 1s}\n").http == HTTPSettings(idleTimeout: .seconds(1), requestTimeout: .seconds(30)))
        #expect(try parse("http:\n  requestTimeout: 1500ms\n").http == HTTPSettings(idleTimeout: .seconds(60), requestTimeout: ConfigDuration(milliseconds: 1500)))
        #expect(message("http:\n  idleTimeout: soon\n") == "c.yaml:2: http.idleTimeout must be a duration such as 500ms, 10s, 5m, 2h or 30d, not \"soon\"")
        #expect(message("http:\n  requestTimeout: 0s\n") == "c.yaml:2: http.requestTimeout must be at least 100ms, not 0s; it bounds how long a client may hold a connection, e.g. 60s")
        #expect(message("http:\n  readTimeout: 5s\n") == "c.yaml:2: unknown key http.readTimeout; known keys here: idleTimeout, requestTimeout")
        #expect(message("http: 60s\n")?.contains("http must be a mapping") == true)
    }

    @Test("Errors name the file, line, key and the fix")
    func errors() {
        func message(_ yaml: String) -> String? {
            do { _ = try AppConfig.parse(yaml: yaml, source: "c.yaml", catalog: ProviderRegistry.catalog); return nil } catch { return error.message }
        }
        #expect(message("listen: 127.0.0.1:3001\nretension: 30d\n") == "c.yaml:2: unknown key retension; known keys here: listen, database, pluginKeys, agentTokenFile, argoBaseURL, providers, tenants, delivery, retention, shutdownGrace, busyTimeout, maxBodyBytes, http, ui, argoServer")
        #expect(message("delivery:\n  maxAge: forever\n")?.contains("c.yaml:2: delivery.maxAge must be a duration such as") == true)
        #expect(message("providers:\n  - kind: github\n")?.contains("providers[0].tokenFile is missing") == true)
        #expect(message("providers:\n  - kind: gitea\n    tokenEnv: T\n")?.contains("baseURL is required for gitea") == true)
        #expect(message("providers:\n  - kind: svn\n    tokenEnv: T\n")?.contains("\"svn\" is not a provider kind") == true)
        #expect(message("listen: nowhere\n")?.contains("listen must be HOST:PORT") == true)
        #expect(message("- a\n- b\n")?.contains("must be a mapping") == true)
        #expect(message("providers: [{kind: github, tokenEnv: A}, {kind: github, tokenEnv: B}]")?.contains("used twice") == true)
    }

    @Test("No file: embedded defaults, providers from GITHUB_TOKEN")
    func embeddedDefaults() throws {
        let none = try AppConfig.load(path: nil, catalog: ProviderRegistry.catalog, environment: [:])
        #expect(none.providers.isEmpty)
        #expect(none.listen.description == "127.0.0.1:3001")
        #expect(none.database == "./statussync.sqlite")
        let gh = try AppConfig.load(path: nil, catalog: ProviderRegistry.catalog, environment: ["GITHUB_TOKEN": "x"])
        #expect(gh.providers.map(\.name) == ["github"])
        #expect(gh.providers.first?.pacing == Pacing(burst: 20, perMinute: 80))
        #expect(try gh.providers[0].loadToken(environment: ["GITHUB_TOKEN": "x"]) == "x")
    }

    @Test("Loopback detection for the no-auth rule")
    func loopback() {
        #expect(ListenAddress(parsing: "127.0.0.1:3001")!.isLoopback)
        #expect(ListenAddress(parsing: "127.1.2.3:1")!.isLoopback)
        #expect(ListenAddress(parsing: "localhost:3001")!.isLoopback)
        #expect(ListenAddress(parsing: "[::1]:3001")!.isLoopback)
        #expect(!ListenAddress(parsing: "0.0.0.0:3001")!.isLoopback)
        #expect(!ListenAddress(parsing: ":3001")!.isLoopback)
        #expect(!ListenAddress(parsing: "10.0.0.1:3001")!.isLoopback)
    }
}
