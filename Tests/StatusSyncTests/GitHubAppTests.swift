import CryptoExtras
import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncProviders

@Suite("GitHub App authentication (docs/provider-matrix.md#github)")
struct GitHubAppTests {
    struct App {
        let dir: TempDirectory
        let credentials: GitHubAppCredentials
        let key: _RSA.Signing.PrivateKey
    }

    static func app() throws -> App {
        let dir = try TempDirectory()
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        try key.pemRepresentation.write(toFile: dir.path("app.pem"), atomically: true, encoding: .utf8)
        return App(dir: dir, credentials: GitHubAppCredentials(appID: "12345", installationID: "678", privateKeyFile: dir.path("app.pem")), key: key)
    }

    static func status(_ context: String = "ci/argo") -> StatusDelivery {
        StatusDelivery(repo: "my-org/app", sha: CallFactory.sha, ref: nil, context: context, state: .success, description: "d", targetURL: nil)
    }

    @Test("An RS256 JWT buys an installation token, which is cached and used for status calls; identify proves the key")
    func installationToken() async throws {
        let app = try Self.app()
        try await FakeGitHub.run { fake in
            fake.registerApp(id: "12345", installation: "678", publicKey: app.key.publicKey)
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = try GitHubProvider(name: "gh", baseURL: fake.baseURL, app: app.credentials, pacing: nil, http: http)
            #expect(await p.postStatus(Self.status("a")).errorClass == .ok)
            #expect(await p.postStatus(Self.status("b")).errorClass == .ok)
            #expect(fake.tokenRequests == 1, "the installation token is cached")
            let statusCalls = fake.requests.filter { $0.path.contains("/statuses/") }
            #expect(statusCalls.count == 2 && statusCalls.allSatisfy { $0.authorization?.hasPrefix("Bearer ghs_") == true })
            let (me, who) = await p.identify()
            #expect(me.errorClass == .ok && who == "GitHub App 12345 installation 678")
        }
    }

    @Test("A token close to expiry is replaced; a 401 refreshes it once")
    func refresh() async throws {
        let app = try Self.app()
        try await FakeGitHub.run { fake in
            // Tokens living 2 minutes are inside the 5-minute margin: every use mints a new one.
            fake.registerApp(id: "12345", installation: "678", publicKey: app.key.publicKey, tokenLifetime: 120)
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = try GitHubProvider(name: "gh", baseURL: fake.baseURL, app: app.credentials, pacing: nil, http: http)
            #expect(await p.postStatus(Self.status()).errorClass == .ok)
            #expect(await p.postStatus(Self.status()).errorClass == .ok)
            #expect(fake.tokenRequests == 2)

            fake.registerApp(id: "12345", installation: "678", publicKey: app.key.publicKey, tokenLifetime: 3600)
            #expect(await p.postStatus(Self.status()).errorClass == .ok)
            let before = fake.tokenRequests
            fake.revokeInstallationTokens()
            let outcome = await p.postStatus(Self.status())
            #expect(outcome.errorClass == .ok, "refreshed after the 401: \(outcome)")
            #expect(fake.tokenRequests == before + 1)

            // Refused again with a fresh token: failed, and the message points at the App, not at a token file.
            fake.enqueue(.error(401, body: "{\"message\":\"Bad credentials\"}"), .error(401, body: "{\"message\":\"Bad credentials\"}"))
            let refused = await p.postStatus(Self.status())
            #expect(refused.errorClass == .permanent)
            #expect(refused.message?.contains("check app: (appID, installationID) and that the App is still installed") == true, "\(refused.message ?? "")")
            #expect(refused.message?.contains("tokenFile") == false)
        }
    }

    @Test("A wrong key: the JWT is rejected and the error says to check appID and privateKeyFile; no secret in it")
    func wrongKey() async throws {
        let app = try Self.app()
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        try await FakeGitHub.run { fake in
            fake.registerApp(id: "12345", installation: "678", publicKey: other.publicKey)
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = try GitHubProvider(name: "gh", baseURL: fake.baseURL, app: app.credentials, pacing: nil, http: http)
            let outcome = await p.postStatus(Self.status())
            #expect(outcome.errorClass == .permanent)
            #expect(outcome.message?.contains("check appID and privateKeyFile") == true)
            #expect(outcome.message?.contains("eyJ") == false, "the JWT is not in the message")
        }
    }

    @Test("Config: app credentials replace the token for github only; a bad key file is a clear error")
    func config() async throws {
        let http = ProviderHTTPClient(timeout: .seconds(1))
        let app = try Self.app()
        let yaml = """
            providers:
              - kind: github
                app: {appID: "12345", installationID: "678", privateKeyFile: \(app.dir.path("app.pem"))}
            """
        let parsed = try AppConfig.parse(yaml: yaml, source: "c.yaml", catalog: ProviderRegistry.catalog)
        #expect(parsed.providers.first?.token == .githubApp(app.credentials))
        #expect(throws: ConfigError.self) {
            try AppConfig.parse(yaml: "providers:\n  - kind: gitea\n    baseURL: https://g.example\n    app: {appID: a, installationID: b, privateKeyFile: c}\n",
                                source: "c.yaml", catalog: ProviderRegistry.catalog)
        }
        try "not a key".write(toFile: app.dir.path("bad.pem"), atomically: true, encoding: .utf8)
        do {
            _ = try ProviderRegistry.make([ProviderConfig(name: "gh", kind: "github", baseURL: "https://api.github.com",
                                                          token: .githubApp(GitHubAppCredentials(appID: "1", installationID: "2", privateKeyFile: app.dir.path("bad.pem"))), pacing: nil)],
                                          http: http)
            Issue.record("a bad key must be refused")
        } catch {
            #expect(error.message.contains("is not an RSA private key in PEM form"))
        }
        try await http.shutdown()
    }

    @Test("privateKeyEnv: the key from an environment variable (as a sidecar gets it from a Secret) buys an installation token")
    func privateKeyFromEnvironment() async throws {
        let app = try Self.app()
        let pem = app.key.pemRepresentation
        let yaml = """
            providers:
              - kind: github
                app: {appID: "12345", installationID: "678", privateKeyEnv: GITHUB_APP_PRIVATE_KEY}
            """
        let parsed = try AppConfig.parse(yaml: yaml, source: "c.yaml", catalog: ProviderRegistry.catalog)
        let credentials = GitHubAppCredentials(appID: "12345", installationID: "678", privateKey: .environment("GITHUB_APP_PRIVATE_KEY"))
        #expect(parsed.providers.first?.token == .githubApp(credentials))
        // As Kubernetes passes it (real line breaks), and as a one-line .env file writes it (\n).
        for value in [pem, pem.replacingOccurrences(of: "\n", with: "\\n")] {
            try await FakeGitHub.run { fake in
                fake.registerApp(id: "12345", installation: "678", publicKey: app.key.publicKey)
                let http = ProviderHTTPClient(timeout: .seconds(20))
                defer { Task { try? await http.shutdown() } }
                let tokens = try GitHubAppTokens(credentials: credentials, baseURL: fake.baseURL, http: http, secrets: Secrets(),
                                                 now: { Date() }, environment: ["GITHUB_APP_PRIVATE_KEY": value])
                guard case .success(let token) = await tokens.token() else { Issue.record("no installation token"); return }
                #expect(token.hasPrefix("ghs_"))
                #expect(fake.tokenRequests == 1)
            }
        }
    }

    @Test("privateKeyEnv errors: unset or empty variable, both or neither of file and env, a value that is no key")
    func privateKeyEnvironmentErrors() async throws {
        let credentials = GitHubAppCredentials(appID: "1", installationID: "2", privateKey: .environment("APP_KEY"))
        for environment in [[:], ["APP_KEY": ""], ["APP_KEY": " \n"]] {
            #expect(throws: ConfigError("app privateKeyEnv: environment variable APP_KEY is not set or empty; set it to the app's private key (PEM), e.g. from a Secret with secretKeyRef")) {
                _ = try credentials.loadPrivateKeyPEM(environment: environment)
            }
        }
        func message(_ app: String) -> String? {
            do {
                _ = try AppConfig.parse(yaml: "providers:\n  - kind: github\n    app: {\(app)}\n", source: "c.yaml", catalog: ProviderRegistry.catalog)
                return nil
            } catch { return error.message }
        }
        #expect(message(#"appID: "1", installationID: "2", privateKeyFile: /k.pem, privateKeyEnv: K"#)?
            .contains("privateKeyEnv is set together with privateKeyFile; keep only one of them") == true)
        #expect(message(#"appID: "1", installationID: "2""#)?
            .contains("privateKeyFile is missing; give the app's private key (PEM) as privateKeyFile (a file) or privateKeyEnv (an environment variable)") == true)
        #expect(message(#"appID: "1", installationID: "2", privateKeyEnv: """#)?.contains("is empty") == true)

        let http = ProviderHTTPClient(timeout: .seconds(1))
        do {
            _ = try GitHubAppTokens(credentials: credentials, baseURL: "https://api.github.com", http: http, secrets: Secrets(),
                                    now: { Date() }, environment: ["APP_KEY": "not a key"])
            Issue.record("a value that is not a key must be refused")
        } catch {
            #expect(error.message == "app privateKeyEnv APP_KEY is not an RSA private key in PEM form (download it from the GitHub App's settings)")
        }
        try await http.shutdown()
    }

    @Test("appID and installationID must be digits: appID goes into the JWT unescaped, installationID into a URL path")
    func numericIDs() {
        func message(_ app: String) -> String? {
            do {
                _ = try AppConfig.parse(yaml: "providers:\n  - kind: github\n    app: {\(app), privateKeyEnv: K}\n", source: "c.yaml", catalog: ProviderRegistry.catalog)
                return nil
            } catch { return error.message }
        }
        #expect(message(#"appID: "12345", installationID: "678""#) == nil)
        #expect(message(#"appID: 12345, installationID: 678"#) == nil, "unquoted numbers are fine")
        for bad in [#"1\",\"admin\":\"1"#, "12a", "-1", "1 2", "١٢"] {
            #expect(message(#"appID: "\#(bad)", installationID: "678""#)?.contains("appID must be the GitHub App's numeric id (digits only") == true, "\(bad)")
        }
        #expect(message(#"appID: "1", installationID: "678/../../user""#)?.contains("installationID must be the numeric installation id (digits only)") == true)
    }
}
