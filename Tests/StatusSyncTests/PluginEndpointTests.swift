import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import StatusSyncProviders
@testable import StatusSyncCore
@testable import StatusSyncServer
@testable import StatusSyncStore

@Suite("POST /api/v1/template.execute (docs/design.md#plugin-body, #replies)")
struct PluginEndpointTests {
    struct Harness {
        let dir: TempDirectory
        let store: SQLiteStore
        let app: any ApplicationProtocol
    }

    static func harness(pluginKeys: [String] = ["statussync"], tokenFile: Bool = false, tenants: [(name: String, token: String, namespaces: [String], repos: [String])] = [],
                        busyTimeout: Double = 2, maxBody: Int = 1 << 20) throws -> Harness {
        let dir = try TempDirectory()
        let store = SQLiteStore(database: try AppDatabase.openForWriting(path: dir.path("s.sqlite"), busyTimeout: busyTimeout))
        var config = AppConfig()
        config.pluginKeys = pluginKeys
        config.providers = [ProviderConfig(name: "github", kind: "github", baseURL: "https://api.github.com", token: .environment("X"), pacing: nil)]
        config.argoBaseURL = "https://argo.example.com"
        config.maxBodyBytes = maxBody
        var agentTokenFile: String? = nil
        if tokenFile {
            try "k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9".write(toFile: dir.path("token"), atomically: true, encoding: .utf8)
            agentTokenFile = dir.path("token")
        }
        var tenantConfigs: [TenantConfig] = []
        for t in tenants {
            try t.token.write(toFile: dir.path("tenant-\(t.name)"), atomically: true, encoding: .utf8)
            tenantConfigs.append(TenantConfig(name: t.name, tokenFile: dir.path("tenant-\(t.name)"), namespaces: t.namespaces, repos: t.repos))
        }
        let authorizer = try CallAuthorizer.make(agentTokenFile: agentTokenFile, tenants: tenantConfigs)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let deps = ServeDependencies(config: config, store: store, delivery: nil, authorizer: authorizer, registry: nil, beforeScrape: nil, logger: logger)
        return Harness(dir: dir, store: store, app: Application(router: buildRouter(deps), logger: logger))
    }

    static let path = "/api/v1/template.execute"
    static let agentHeaders: HTTPFields = [.contentType: "application/json", .authorization: "Bearer k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9", .userAgent: "Go-http-client/1.1"]

    func post(_ client: some TestClientProtocol, _ body: Data, headers: HTTPFields = agentHeaders) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: Self.path, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
            (response.status, String(buffer: response.body))
        }
    }

    @Test("A foreign plugin key (fixture 04) gets 200 {} and nothing is recorded")
    func foreignKey() async throws {
        let h = try Self.harness()
        try await h.app.test(.router) { client in
            let (status, body) = try await post(client, try TestPaths.argoFixture("04-unhandled-plugin-slack.request.json"))
            #expect(status == .ok)
            #expect(body == String(decoding: try TestPaths.argoFixture("04-unhandled-plugin-slack.reply.json"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(try await h.store.calls(CallsFilter()).isEmpty)
    }

    @Test("The byte-exact compact, HTML-escaped agent body (fixture 05) of our key: Failed node, call recorded as received")
    func compactWireBody() async throws {
        let h = try Self.harness(pluginKeys: ["statusReporter"])
        let wire = try TestPaths.argoFixture("05-wire-compact-html-escaped.request.json")
        try await h.app.test(.router) { client in
            let (status, body) = try await post(client, wire)
            #expect(status == .ok)
            let reply = try JSONValue.parse(Data(body.utf8))
            #expect(reply["node"]?["phase"] == .string("Failed"))
            #expect(reply["node"]?["message"]?.stringValue?.hasPrefix("statussync: missing repo") == true)
            #expect(reply["requeue"] == nil)
        }
        let calls = try await h.store.calls(CallsFilter())
        #expect(calls.count == 1)
        #expect(calls[0].args == String(decoding: wire, as: UTF8.self), "ExecuteTemplateArgs stored exactly as received")
        #expect(calls[0].body["summary"] == .string("build & deploy to <prod> failed"), "HTML escapes decoded")
        #expect(calls[0].workflow == WorkflowRef(namespace: "ci", name: "ci-build-x7k2p", uid: "4f9c2b7e-3a1d-4e8b-9c6f-2d7a1b0e5c93"))
        #expect(calls[0].template == "page-oncall")
    }

    @Test("Fixtures 01–03 (pretty-printed agent bodies) are decoded leniently; unknown fields ignored")
    func prettyFixtures() async throws {
        let h = try Self.harness(pluginKeys: ["statusReporter", "batchJob"])
        try await h.app.test(.router) { client in
            for name in ["01-exit-hook-status.request.json", "02-hook-expression-true-started.request.json", "03-batch-params-retry.request.json"] {
                let (status, body) = try await post(client, try TestPaths.argoFixture(name))
                #expect(status == .ok, "\(name)")
                #expect(try JSONValue.parse(Data(body.utf8))["node"]?["phase"] == .string("Failed"), "\(name): no repo/sha in these bodies")
            }
        }
        #expect(try await h.store.calls(CallsFilter()).count == 3)
    }

    @Test("A valid call is committed before the reply; the reply carries update-id and delivery; a repeat replays it")
    func acceptedAndRepeated() async throws {
        let h = try Self.harness()
        let body = CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "{{workflow.status}}".replacingOccurrences(of: "{{workflow.status}}", with: "Succeeded")])
        try await h.app.test(.router) { client in
            let (status, first) = try await post(client, body)
            #expect(status == .ok)
            let reply = try JSONValue.parse(Data(first.utf8))
            #expect(reply["node"]?["phase"] == .string("Succeeded"))
            guard case .array(let params)? = reply["node"]?["outputs"]?["parameters"] else { Issue.record("no outputs"); return }
            #expect(params.compactMap { $0["name"]?.stringValue } == ["update-id", "delivery"])
            #expect(params[1]["value"] == .string("queued"))
            let id = try #require(params[0]["value"]?.stringValue.flatMap { Int64($0) })
            let detail = try #require(try await h.store.detail(id: id))
            #expect(detail.update.state == .success)
            #expect(detail.update.targetURL == "https://argo.example.com/workflows/ci/ci-build-x7k2p")
            let (_, second) = try await post(client, body)
            #expect(second == first)
        }
        #expect(try await h.store.history(HistoryFilter()).count == 1)
    }

    @Test("Bodies that are not ExecuteTemplateArgs: 400 with an error, nothing recorded")
    func badRequests() async throws {
        let h = try Self.harness()
        try await h.app.test(.router) { client in
            for body in ["", "nope", "[]", "null", "{\"workflow\":{}}", "{\"template\":{}}", "{\"workflow\":1,\"template\":{}}", "{\"workflow\":{\"met"] {
                let (status, text) = try await post(client, Data(body.utf8))
                #expect(status == .badRequest, "\(body)")
                #expect(try JSONValue.parse(Data(text.utf8))["error"]?.stringValue?.contains("ExecuteTemplateArgs") == true)
            }
        }
        #expect(try await h.store.calls(CallsFilter()).isEmpty)
    }

    @Test("Auth: wrong or missing token is 403 whatever the body, nothing recorded; the right token passes")
    func auth() async throws {
        let h = try Self.harness(tokenFile: true)
        let valid = CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "Running"])
        try await h.app.test(.router) { client in
            for header in [nil, "Bearer wrong", "k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9", "Bearer k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x", "Basic k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9"] {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let header { headers[.authorization] = header }
                let (status, _) = try await post(client, valid, headers: headers)
                #expect(status == .forbidden, "\(header ?? "no header")")
                let (garbage, _) = try await post(client, Data("not json".utf8), headers: headers)
                #expect(garbage == .forbidden)
            }
            #expect(try await h.store.calls(CallsFilter()).isEmpty)
            let (status, _) = try await post(client, valid)
            #expect(status == .ok)
        }
        #expect(try await h.store.calls(CallsFilter()).count == 1)
    }

    @Test("A body over the size limit gets 413 with a clear error")
    func bodyLimit() async throws {
        let h = try Self.harness(maxBody: 2048)
        let big = CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "Running", "description": String(repeating: "x", count: 4000)])
        try await h.app.test(.router) { client in
            let (status, text) = try await post(client, big)
            #expect(status == .contentTooLarge)
            #expect(text.contains("larger than 2048 bytes"))
        }
        #expect(try await h.store.calls(CallsFilter()).isEmpty)
    }

    @Test("Store cannot commit (locked past the busy timeout): HTTP 503, nothing half-written; later the same call succeeds")
    func unavailableStore() async throws {
        let h = try Self.harness(busyTimeout: 0.2)
        let body = CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "Running"])
        let lock = try WriteLock(path: h.dir.path("s.sqlite"))
        try await h.app.test(.router) { client in
            let (status, text) = try await post(client, body)
            #expect(status == .serviceUnavailable)
            #expect(text.contains("cannot commit"))
            lock.release()
            #expect(try await h.store.calls(CallsFilter()).isEmpty)
            #expect(try await h.store.history(HistoryFilter()).isEmpty)
            let (again, _) = try await post(client, body)
            #expect(again == .ok)
        }
        #expect(try await h.store.history(HistoryFilter()).count == 1)
    }

    @Test("Health and readiness")
    func health() async throws {
        let h = try Self.harness()
        try await h.app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("Routing: the plugin endpoint is answered ahead of the router (a query string too); other methods and paths get the router's answers")
    func routing() async throws {
        let h = try Self.harness()
        let body = CallFactory.argsJSON(CallFactory.status("Running"))
        try await h.app.test(.router) { client in
            let (status, reply) = try await client.execute(uri: Self.path + "?from=agent", method: .post, headers: Self.agentHeaders,
                                                           body: ByteBuffer(bytes: body)) { ($0.status, String(buffer: $0.body)) }
            #expect(status == .ok)
            #expect(reply.contains(#""phase":"Succeeded""#), "\(reply)")
            try await client.execute(uri: Self.path, method: .get) { #expect($0.status == .notFound || $0.status == .methodNotAllowed) }
            try await client.execute(uri: Self.path + "/more", method: .post, headers: Self.agentHeaders, body: ByteBuffer(bytes: body)) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/nowhere", method: .get) { #expect($0.status == .notFound) }
        }
        #expect(try await h.store.history(HistoryFilter()).count == 1, "only the POST to the endpoint recorded an update")
    }
}
