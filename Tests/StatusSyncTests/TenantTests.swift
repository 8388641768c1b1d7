import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import StatusSyncCore
@testable import StatusSyncServer
@testable import StatusSyncStore

@Suite("Tenants (docs/design.md#auth)")
struct TenantTests {
    static let ciToken = "tenant-ci-token-0001"
    static let dataToken = "tenant-data-token-0002"

    static func harness() throws -> PluginEndpointTests.Harness {
        try PluginEndpointTests.harness(tokenFile: true, tenants: [
            (name: "ci", token: ciToken, namespaces: ["ci"], repos: ["my-org/*"]),
            (name: "data", token: dataToken, namespaces: ["data", "ci"], repos: ["lake/**"]),
        ])
    }

    func post(_ client: some TestClientProtocol, token: String, body: Data) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: PluginEndpointTests.path, method: .post,
                                 headers: [.contentType: "application/json", .authorization: "Bearer \(token)"],
                                 body: ByteBuffer(bytes: body)) { ($0.status, String(buffer: $0.body)) }
    }

    static func body(repo: String, namespace: String = "ci", key: String? = nil) -> Data {
        var fields = ["repo": repo, "sha": CallFactory.sha, "state": "Succeeded"]
        if let key { fields["key"] = key }
        return CallFactory.argsJSON(fields, workflow: WorkflowRef(namespace: namespace, name: "wf", uid: "uid-\(namespace)"))
    }

    @Test("Repo globs: * within a segment, ** across segments")
    func globs() {
        #expect(RepoGlob("my-org/*").matches("my-org/app"))
        #expect(!RepoGlob("my-org/*").matches("my-org/team/app"))
        #expect(!RepoGlob("my-org/*").matches("other/app"))
        #expect(RepoGlob("my-org/**").matches("my-org/team/app"))
        #expect(RepoGlob("my-org/**").matches("my-org/app"))
        #expect(!RepoGlob("my-org/**").matches("my-org"))
        #expect(RepoGlob("my-org/app-*").matches("my-org/app-web"))
        #expect(!RepoGlob("my-org/app-*").matches("my-org/web"))
        #expect(RepoGlob("*/app").matches("x/app"))
        #expect(RepoGlob("group/**/app").matches("group/app"))
        #expect(RepoGlob("group/**/app").matches("group/a/b/app"))
        #expect(RepoGlob("**").matches("anything/at/all"))
        #expect(RepoGlob("my-org/app").matches("my-org/app"))
        #expect(!RepoGlob("my-org/app").matches("my-org/App"))
    }

    @Test("A tenant token admits its namespaces and repos; another namespace is 403, another repo a recorded Failed node")
    func isolation() async throws {
        let h = try Self.harness()
        try await h.app.test(.router) { client in
            let (ok, reply) = try await post(client, token: Self.ciToken, body: Self.body(repo: "my-org/app"))
            #expect(ok == .ok)
            #expect(reply.contains("\"Succeeded\""))

            let (wrongNamespace, text) = try await post(client, token: Self.ciToken, body: Self.body(repo: "my-org/app", namespace: "prod"))
            #expect(wrongNamespace == .forbidden)
            #expect(text.contains("tenant ci may not report from namespace \\\"prod\\\""))

            let (wrongRepo, failed) = try await post(client, token: Self.ciToken, body: Self.body(repo: "lake/raw"))
            #expect(wrongRepo == .ok)
            #expect(failed.contains("\"Failed\"") && failed.contains("repo lake/raw is not allowed for tenant ci"))

            let (data, _) = try await post(client, token: Self.dataToken, body: Self.body(repo: "lake/events", namespace: "data"))
            #expect(data == .ok)
            let (agent, _) = try await post(client, token: "k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9", body: Self.body(repo: "any/thing", namespace: "prod"))
            #expect(agent == .ok, "the agent token admits any namespace and repo")
            let (bad, _) = try await post(client, token: "nope", body: Self.body(repo: "my-org/app"))
            #expect(bad == .forbidden)
        }
        let calls = try await h.store.calls(CallsFilter())
        #expect(calls.count == 4, "the namespace and token rejections are not recorded")
        let rejected = calls.filter { $0.error != nil }
        #expect(rejected.count == 1)
        #expect(rejected.first?.tenant == "ci")
        #expect(Set(calls.compactMap(\.tenant)) == ["ci", "data"])
    }

    @Test("Idempotency keys are per tenant")
    func keysPerTenant() async throws {
        let h = try Self.harness()
        try await h.app.test(.router) { client in
            let (_, a) = try await post(client, token: Self.ciToken, body: Self.body(repo: "my-org/app", key: "k1"))
            let (_, b) = try await post(client, token: Self.dataToken, body: CallFactory.argsJSON(["repo": "lake/x", "sha": CallFactory.sha, "state": "Failed", "key": "k1"], workflow: WorkflowRef(namespace: "data", name: "wf", uid: "u")))
            #expect(a.contains("\"Succeeded\""))
            #expect(b.contains("\"Succeeded\""), "the same key in another tenant is another call: \(b)")
            let (_, again) = try await post(client, token: Self.ciToken, body: Self.body(repo: "my-org/app", key: "k1"))
            #expect(again == a)
        }
        #expect(try await h.store.history(HistoryFilter()).count == 2)
    }

    @Test("Tokens shared between tenants are refused at start")
    func duplicateTokens() throws {
        let dir = try TempDirectory()
        try "same".write(toFile: dir.path("a"), atomically: true, encoding: .utf8)
        try "same".write(toFile: dir.path("b"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) {
            try CallAuthorizer(agentTokenFile: nil, tenants: [
                TenantConfig(name: "a", tokenFile: dir.path("a"), namespaces: ["x"], repos: ["*/*"]),
                TenantConfig(name: "b", tokenFile: dir.path("b"), namespaces: ["y"], repos: ["*/*"]),
            ])
        }
    }
}
