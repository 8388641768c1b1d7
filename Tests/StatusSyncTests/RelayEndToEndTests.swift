import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

/// `statussync relay` in front of a real central `serve` on loopback (docs/deployment.md, docs/design.md#replies).
@Suite("End to end: relay and central service")
struct RelayEndToEndTests {
    static let agentToken = "k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9"
    static let tenantToken = "tenant-ci-0123456789"

    struct Setup {
        let dir: TempDirectory
        let config: String
        let servePort: Int
        let relayPort: Int
        let env: [String: String]
        var relayURL: String { "http://127.0.0.1:\(relayPort)/api/v1/template.execute" }
    }

    static func setup(_ fake: FakeGitHub) throws -> Setup {
        let dir = try TempDirectory()
        try agentToken.write(toFile: dir.path("agent-token"), atomically: true, encoding: .utf8)
        try tenantToken.write(toFile: dir.path("tenant-ci"), atomically: true, encoding: .utf8)
        let servePort = try ServeProcess.freePort()
        let relayPort = try ServeProcess.freePort()
        let config = try EndToEndTests.writeConfig(dir, port: servePort, fake: fake, extra: """
            tenants:
              - {name: ci, tokenFile: \(dir.path("tenant-ci")), namespaces: [ci], repos: ["my-org/*"]}
            """)
        return Setup(dir: dir, config: config, servePort: servePort, relayPort: relayPort,
                     env: ["E2E_GITHUB_TOKEN": fake.token, "STATUSSYNC_TENANT_TOKEN": tenantToken])
    }

    static func startRelay(_ s: Setup) async throws -> ServeProcess {
        try await ServeProcess.start(
            arguments: ["relay", "--upstream", "http://127.0.0.1:\(s.servePort)", "--listen", "127.0.0.1:\(s.relayPort)",
                        "--agent-token-file", s.dir.path("agent-token")],
            port: s.relayPort, dir: s.dir, environment: s.env, tag: "relay")
    }

    static let agent = [("Content-Type", "application/json"), ("Authorization", "Bearer \(agentToken)"), ("User-Agent", "Go-http-client/1.1")]

    @Test("The relay forwards our calls with the tenant token and returns the reply unchanged; answers 400, 403 and {} itself")
    func forwarding() async throws {
        try await FakeGitHub.run { fake in
            let s = try Self.setup(fake)
            let serve = try await ServeProcess.start(config: s.config, port: s.servePort, dir: s.dir, environment: s.env)
            let relay = try await Self.startRelay(s)
            defer {
                kill(relay.process.processIdentifier, SIGTERM)
                kill(serve.process.processIdentifier, SIGTERM)
            }
            let body = CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "Succeeded", "key": "relay/1"])
            let (code, reply) = try await HTTP.post(s.relayURL, body, headers: Self.agent)
            #expect(code == 200)
            let id = try #require(EndToEndTests.updateID(reply), "\(reply)")
            // The central service recorded it as the tenant's call.
            let (again, direct) = try await HTTP.post("http://127.0.0.1:\(s.servePort)/api/v1/template.execute", body,
                                                      headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(Self.tenantToken)")])
            #expect(again == 200 && direct == reply, "the relay returned the central reply byte for byte")
            #expect(try await eventually { fake.statuses.count == 1 })

            let (foreign, empty) = try await HTTP.post(s.relayURL, try TestPaths.argoFixture("04-unhandled-plugin-slack.request.json"), headers: Self.agent)
            #expect(foreign == 200 && empty == "{}")
            let (bad, _) = try await HTTP.post(s.relayURL, Data("[1]".utf8), headers: Self.agent)
            #expect(bad == 400)
            let (forbidden, _) = try await HTTP.post(s.relayURL, body)
            #expect(forbidden == 403)
            // The tenant's allow-list applies to calls through the relay.
            let (otherRepo, failed) = try await HTTP.post(s.relayURL, CallFactory.argsJSON(["repo": "elsewhere/app", "sha": CallFactory.sha, "state": "Failed"]), headers: Self.agent)
            #expect(otherRepo == 200 && failed.contains("not allowed for tenant ci"))

            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: s.dir.path("statussync.sqlite")))
            let calls = try await store.calls(CallsFilter())
            #expect(calls.count == 2, "foreign, 400 and 403 never reached the central service")
            #expect(calls.allSatisfy { $0.tenant == "ci" })
            #expect(try await store.detail(id: id)?.update.repo == "my-org/app")
        }
    }

    @Test("Central service down: Running + requeue 15s; back up: the agent's identical call is accepted once, delivered once")
    func upstreamDownAndBack() async throws {
        try await FakeGitHub.run { fake in
            let s = try Self.setup(fake)
            let relay = try await Self.startRelay(s)
            defer { kill(relay.process.processIdentifier, SIGTERM) }
            let body = CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "Succeeded", "key": "relay/2"])

            let (code, down) = try await HTTP.post(s.relayURL, body, headers: Self.agent)
            #expect(code == 200)
            let reply = try JSONValue.parse(Data(down.utf8))
            #expect(reply["node"]?["phase"] == .string("Running"))
            #expect(reply["requeue"] == .string("15s"))

            let serve = try await ServeProcess.start(config: s.config, port: s.servePort, dir: s.dir, environment: s.env)
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            let (_, first) = try await HTTP.post(s.relayURL, body, headers: Self.agent)
            let id = try #require(EndToEndTests.updateID(first), "\(first)")
            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: s.dir.path("statussync.sqlite")))
            #expect(try await eventually { try await store.detail(id: id)?.update.delivery.status == .delivered })
            // The central service dies; the agent's retry meets Running, then the same reply.
            await serve.kill(SIGKILL)
            let (_, during) = try await HTTP.post(s.relayURL, body, headers: Self.agent)
            #expect(during.contains("\"Running\""))
            let back = try await ServeProcess.start(config: s.config, port: s.servePort, dir: s.dir, environment: s.env)
            defer { kill(back.process.processIdentifier, SIGTERM) }
            let (_, replay) = try await HTTP.post(s.relayURL, body, headers: Self.agent)
            #expect(replay == first)

            #expect(try await store.history(HistoryFilter()).count == 1, "no doubled update")
            // Nothing is left to send, so the one delivery stays the only one.
            #expect(try await store.backlog().isEmpty)
            #expect(fake.statuses.count == 1, "delivered exactly once")
        }
    }
}
