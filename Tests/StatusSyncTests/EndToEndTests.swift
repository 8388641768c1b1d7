import AsyncHTTPClient
import Foundation
import GRDB
import NIOPosix
import Synchronization
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

/// The real binary, real HTTP, a real SQLite file, and the fake GitHub on 127.0.0.1.
@Suite("End to end: the statussync binary")
struct EndToEndTests {
    static func writeConfig(_ dir: TempDirectory, port: Int, fake: FakeGitHub, extra: String = "") throws -> String {
        let yaml = """
            listen: 127.0.0.1:\(port)
            database: \(dir.path("statussync.sqlite"))
            argoBaseURL: https://argo.example.com
            providers:
              - name: github
                kind: github
                baseURL: \(fake.baseURL)
                tokenEnv: E2E_GITHUB_TOKEN
                pacing: {burst: 1000, perMinute: 600000}
            delivery: {maxAttempts: 50, maxAge: 1h, backoffBase: 50ms, backoffCap: 500ms, timeout: 10s}
            \(extra)
            """
        let path = dir.path("statussync.yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    struct Accepted: Sendable {
        var n: Int
        var updateID: Int64
        var reply: String
    }

    static func body(_ n: Int) -> Data {
        CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "context": "e2e-\(n)", "state": n % 3 == 0 ? "Failed" : "Succeeded", "key": "e2e/\(n)"])
    }

    static func updateID(_ reply: String) -> Int64? {
        guard let json = try? JSONValue.parse(Data(reply.utf8)), json["node"]?["phase"] == .string("Succeeded"),
              case .array(let params)? = json["node"]?["outputs"]?["parameters"] else { return nil }
        return params.first { $0["name"] == .string("update-id") }?["value"]?.stringValue.flatMap { Int64($0) }
    }

    final class LoadState: Sendable {
        let accepted = Mutex<[Accepted]>([])
        let next = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    /// 16 connections post `body(n)` for n = 1, 2, … for `duration`, and longer (up to 20 s) until
    /// `atLeast` more calls are accepted, so a slow machine still kills serve under real load;
    /// then serve is SIGKILLed while they keep going, and `restart` brings it back. Accepted calls
    /// are collected in `load`.
    static func loadThenKill(_ serve: ServeProcess, load: LoadState, for duration: Duration, atLeast: Int = 0, body: @escaping @Sendable (Int) -> Data,
                             restart: () async throws -> ServeProcess) async throws -> ServeProcess {
        let before = load.accepted.withLock { $0.count }
        load.stop.store(false, ordering: .relaxed)
        let url = "\(serve.baseURL)/api/v1/template.execute"
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        try await withThrowingTaskGroup(of: Void.self) { workers in
            for _ in 0..<16 {
                workers.addTask {
                    while !load.stop.load(ordering: .relaxed) {
                        let n = load.next.add(1, ordering: .relaxed).newValue
                        if let (code, reply) = try? await HTTP.post(url, body(n), timeout: 2, using: client), code == 200, let id = Self.updateID(reply) {
                            load.accepted.withLock { $0.append(Accepted(n: n, updateID: id, reply: reply)) }
                        } else {
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
            try await Task.sleep(for: duration)
            _ = await eventually(timeout: .seconds(20), every: .milliseconds(20)) { load.accepted.withLock { $0.count } - before >= atLeast }
            await serve.kill(SIGKILL)
            try await Task.sleep(for: .milliseconds(100))
            load.stop.store(true, ordering: .relaxed)
            try await workers.waitForAll()
        }
        try await client.shutdown()
        return try await restart()
    }

    @Test("SIGKILL under 16 concurrent connections: every accepted call is in the history and reaches the provider")
    func crashUnderLoad() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            fake.setDefault(.slow(.milliseconds(15)))
            let port = try ServeProcess.freePort()
            let config = try Self.writeConfig(dir, port: port, fake: fake)
            let env = ["E2E_GITHUB_TOKEN": fake.token]
            let load = LoadState()
            var serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: env)
            for _ in 0..<3 {
                serve = try await Self.loadThenKill(serve, load: load, for: .milliseconds(800), atLeast: 40, body: Self.body) {
                    try await ServeProcess.start(config: config, port: port, dir: dir, environment: env)
                }
            }
            let all = load.accepted.withLock { $0 }
            #expect(all.count > 100, "load produced \(all.count) accepted calls")

            // The same calls again, after the crashes: the stored replies, no new updates.
            for a in all.prefix(25) {
                let (code, reply) = try await HTTP.post("\(serve.baseURL)/api/v1/template.execute", Self.body(a.n))
                #expect(code == 200)
                #expect(reply == a.reply)
            }

            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            let delivered = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                try await store.backlogSummary().isEmpty
            }
            #expect(delivered, "backlog drained")
            let sent = Set(fake.statuses.map { "\($0.context)/\($0.state)" })
            var missingHistory = 0, missingProvider = 0
            for a in all {
                guard let detail = try await store.detail(id: a.updateID) else { missingHistory += 1; continue }
                #expect(detail.update.context == "e2e-\(a.n)")
                #expect(detail.update.delivery.status == .delivered)
                if !sent.contains("e2e-\(a.n)/\(a.n % 3 == 0 ? "failure" : "success")") { missingProvider += 1 }
            }
            #expect(missingHistory == 0, "accepted updates missing from the history")
            #expect(missingProvider == 0, "accepted updates that never reached the provider")
            // Calls committed but killed before their reply was written are in the history too.
            #expect(try await store.history({ var f = HistoryFilter(); f.limit = 1_000_000; return f }()).count >= Set(all.map(\.n)).count)
            let integrity = try await store.database.reader.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
            #expect(integrity == "ok")
            #expect(fake.schemaViolations.isEmpty)
            await serve.kill(SIGTERM)
            #expect(serve.process.terminationStatus == 0, "SIGTERM exits 0:\n\(serve.log.suffix(2000))")
        }
    }

    @Test("SIGKILLs under load with many updates per context: each context ends with its newest update; superseded ones are never sent")
    func crashFinalStates() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            fake.setDefault(.slow(.milliseconds(10)))
            let port = try ServeProcess.freePort()
            let config = try Self.writeConfig(dir, port: port, fake: fake)
            let env = ["E2E_GITHUB_TOKEN": fake.token]
            let load = LoadState()
            let states = ["Pending", "Running", "Succeeded", "Failed", "Error"]
            @Sendable func body(_ n: Int) -> Data {
                CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "context": "ctx-\(n % 24)", "state": states[n % states.count],
                                      "description": "seq-\(n)"],
                                     workflow: WorkflowRef(namespace: "ci", name: "wf-\(n)", uid: "uid-\(n)"))
            }
            var serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: env)
            for _ in 0..<2 {
                serve = try await Self.loadThenKill(serve, load: load, for: .milliseconds(700), atLeast: 30, body: body) {
                    try await ServeProcess.start(config: config, port: port, dir: dir, environment: env)
                }
            }
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            let accepted = load.accepted.withLock { $0 }
            #expect(accepted.count > 50)
            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            #expect(try await eventually(timeout: .seconds(60), every: .milliseconds(200)) { try await store.backlogSummary().isEmpty })
            for a in accepted { #expect(try await store.detail(id: a.updateID) != nil, "accepted update \(a.updateID) missing") }

            let all = try await store.history({ var f = HistoryFilter(); f.limit = 1_000_000; return f }())
            let statuses = fake.statuses
            for context in Set(all.map(\.context)) {
                let newest = try #require(all.filter { $0.context == context }.max { $0.id < $1.id })
                let last = try #require(statuses.last { $0.context == context }, "nothing sent for \(context)")
                #expect(last.description == newest.description, "\(context): provider ends with \(last.description ?? "-"), newest accepted is \(newest.description)")
                #expect(newest.delivery.status == .delivered || newest.delivery.status == .duplicate)
            }
            let sent = Set(statuses.compactMap(\.description))
            for update in all where update.delivery.status == .superseded {
                let detail = try #require(try await store.detail(id: update.id))
                if detail.attempts.isEmpty { #expect(!sent.contains(update.description), "superseded update \(update.id) was sent") }
            }
            #expect(all.contains { $0.delivery.status == .superseded }, "the load produced superseded updates")
        }
    }

    @Test("CLI: history, calls, show and their JSON shape; exit codes 0, 1 and 64; works while serve runs")
    func cli() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            let port = try ServeProcess.freePort()
            let config = try Self.writeConfig(dir, port: port, fake: fake)
            let serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: ["E2E_GITHUB_TOKEN": fake.token])
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            let url = "\(serve.baseURL)/api/v1/template.execute"
            let (_, reply) = try await HTTP.post(url, CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "Succeeded", "context": "cli"]))
            let id = try #require(Self.updateID(reply))
            let (_, rejected) = try await HTTP.post(url, CallFactory.argsJSON(["repo": "my-org/app", "state": "Succeeded"]))
            #expect(rejected.contains("\"Failed\""))
            #expect(try await eventually { fake.statuses.count == 1 })
            // The provider has it; wait for the outcome to be committed before reading the history.
            let reader = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            #expect(try await eventually { try await reader.detail(id: id)?.update.delivery.status == .delivered })
            let db = ["--database", dir.path("statussync.sqlite")]

            let history = try await ServeProcess.cli(["history", "--json"] + db, in: dir)
            #expect(history.status == 0, "\(history.err)")
            let rows = try JSONValue.parse(Data(history.out.utf8))
            guard case .array(let updates) = rows, let u = updates.first?.objectValue else { Issue.record("history --json: \(history.out)"); return }
            #expect(Set(u.keys).isSuperset(of: ["id", "createdAt", "provider", "repo", "sha", "pr", "context", "state", "description", "targetURL", "workflow", "delivery"]))
            #expect(u["state"] == .string("success"))
            #expect(u["workflow"]?.objectValue?.keys.sorted() == ["name", "namespace", "uid"])
            let deliveryKeys = Set(u["delivery"]?.objectValue.map { Array($0.keys) } ?? [])
            #expect(deliveryKeys.isSuperset(of: ["status", "attempts", "lastError", "nextAttemptAt", "deliveredAt"]))
            #expect(u["delivery"]?["status"] == .string("delivered"))
            #expect(u["delivery"]?["attempts"] == .number(1))
            #expect(u["createdAt"]?.stringValue?.hasSuffix("Z") == true)

            let table = try await ServeProcess.cli(["history", "--repo", "my-org/app", "--delivery", "delivered"] + db, in: dir)
            #expect(table.status == 0)
            #expect(table.out.contains("DELIVERY") && table.out.contains("delivered") && table.out.contains("cli"))
            let filtered = try await ServeProcess.cli(["history", "--json", "--state", "failure"] + db, in: dir)
            #expect(try JSONValue.parse(Data(filtered.out.utf8)) == .array([]))

            let calls = try await ServeProcess.cli(["calls", "--json", "--rejected"] + db, in: dir)
            #expect(calls.status == 0)
            guard case .array(let callRows) = try JSONValue.parse(Data(calls.out.utf8)), let c = callRows.first?.objectValue else { Issue.record("calls: \(calls.out)"); return }
            #expect(callRows.count == 1)
            #expect(c["error"]?.stringValue?.contains("missing sha or pr") == true)
            #expect(c["reply"] == nil)
            #expect(Set(c.keys).isSuperset(of: ["id", "receivedAt", "workflow", "template", "pluginKey", "key", "body", "error", "updateId"]))
            #expect(c["body"]?["repo"] == .string("my-org/app"))

            let show = try await ServeProcess.cli(["show", String(id), "--json"] + db, in: dir)
            #expect(show.status == 0)
            let detail = try JSONValue.parse(Data(show.out.utf8))
            #expect(detail["id"] == .number(Double(id)))
            guard case .array(let attempts)? = detail["attempts"], case .array(let showCalls)? = detail["calls"] else { Issue.record("show: \(show.out)"); return }
            #expect(showCalls.count == 1)
            #expect(showCalls.first?["reply"]?["node"]?["phase"] == .string("Succeeded"))
            #expect(attempts.first?.objectValue?.keys.sorted() == ["at", "durationMs", "error", "errorClass", "httpStatus", "operation"])
            #expect(attempts.first?["httpStatus"] == .number(201))
            let text = try await ServeProcess.cli(["show", String(id)] + db, in: dir)
            #expect(text.out.contains("attempts (1)") && text.out.contains("HTTP 201"))

            let unknown = try await ServeProcess.cli(["show", "999999"] + db, in: dir)
            #expect(unknown.status == 1)
            #expect(unknown.err.contains("no update with id 999999"))
            let usage = try await ServeProcess.cli(["history", "--bogus"] + db, in: dir)
            #expect(usage.status == 64)
            let badValue = try await ServeProcess.cli(["history", "--since", "yesterday"] + db, in: dir)
            #expect(badValue.status == 64)
            let missing = try await ServeProcess.cli(["history", "--database", dir.path("nope.sqlite")], in: dir)
            #expect(missing.status == 1)
            #expect(missing.err.contains("no database at"))
            #expect(!FileManager.default.fileExists(atPath: dir.path("nope.sqlite")), "read commands never create a database")
            let metrics = try await HTTP.post("\(serve.baseURL)/metrics", Data(), timeout: 5)
            #expect(metrics.0 != 200, "metrics is GET only")
            let prometheus = try await HTTP.getText("\(serve.baseURL)/metrics")
            #expect(prometheus.contains("statussync_calls_total{outcome=\"accepted\"} 1"), "\(prometheus)")
            #expect(prometheus.contains("statussync_calls_total{outcome=\"rejected\"} 1"))
            #expect(prometheus.contains("statussync_provider_calls_total{provider=\"github\",class=\"ok\"} 1"))
            #expect(prometheus.contains("statussync_backlog{provider=\"github\"} 0"), "\(prometheus)")
            #expect(prometheus.contains("statussync_backlog_oldest_seconds{provider=\"github\"} 0"))
            #expect(prometheus.contains("statussync_provider_budget{provider=\"github\"}"))
            #expect(prometheus.contains("statussync_delivery_seconds"))
            // Secrets (docs/design.md#secrets): the provider token is in no log line, database file or CLI output.
            for file in ["statussync.sqlite", "statussync.sqlite-wal"] {
                let bytes = (try? Data(contentsOf: dir.url.appending(path: file))) ?? Data()
                #expect(bytes.range(of: Data(fake.token.utf8)) == nil, "token found in \(file)")
            }
            #expect(!serve.log.contains(fake.token))
            // SQLite runs in multi-thread mode (no mutex per connection; see CSQLiteTuning).
            #expect(serve.log.contains(" multi-thread"), "\(serve.log.prefix(1500))")
            #expect(!history.out.contains(fake.token) && !show.out.contains(fake.token) && !calls.out.contains(fake.token))
            let help = try await ServeProcess.cli(["history", "--help"], in: dir)
            #expect(help.status == 0 && help.out.contains("--delivery"))
        }
    }

    @Test("serve refuses a non-loopback address without auth; migrate creates and reports the schema")
    func startupChecks() async throws {
        let dir = try TempDirectory()
        let open = try await ServeProcess.cli(["serve", "--listen", "0.0.0.0:0", "--database", dir.path("x.sqlite")], in: dir)
        #expect(open.status == 1)
        #expect(open.err.contains("refusing to listen on 0.0.0.0:0 without auth"))
        let badDir = try await ServeProcess.cli(["serve", "--database", dir.path("missing-dir/x.sqlite")], in: dir)
        #expect(badDir.status == 1)
        #expect(badDir.err.contains("does not exist"))
        try "retension: 30d\n".write(toFile: dir.path("bad.yaml"), atomically: true, encoding: .utf8)
        let badConfig = try await ServeProcess.cli(["serve", "--config", dir.path("bad.yaml")], in: dir)
        #expect(badConfig.status == 1)
        #expect(badConfig.err.contains("unknown key retension"))
        let migrate = try await ServeProcess.cli(["migrate", "--database", dir.path("m.sqlite")], in: dir)
        #expect(migrate.status == 0)
        #expect(migrate.out.contains("applied 0001_initial"))
        let again = try await ServeProcess.cli(["migrate", "--database", dir.path("m.sqlite")], in: dir)
        #expect(again.out.contains("schema is current"))
    }

    @Test("Agent token from agentTokenFile: the agent's exact request passes, others get 403")
    func agentToken() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            try "k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9".write(toFile: dir.path("token"), atomically: true, encoding: .utf8)
            let port = try ServeProcess.freePort()
            let config = try Self.writeConfig(dir, port: port, fake: fake, extra: "agentTokenFile: \(dir.path("token"))\npluginKeys: [statussync, statusReporter]")
            let serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: ["E2E_GITHUB_TOKEN": fake.token])
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            let url = "\(serve.baseURL)/api/v1/template.execute"
            let wire = try TestPaths.argoFixture("05-wire-compact-html-escaped.request.json")
            let agentHeaders = [("Content-Type", "application/json"), ("Authorization", "Bearer k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9"),
                                ("User-Agent", "Go-http-client/1.1"), ("Accept-Encoding", "gzip")]
            let (ok, body) = try await HTTP.post(url, wire, headers: agentHeaders)
            #expect(ok == 200)
            #expect(body.contains("\"phase\":\"Failed\""))
            let (forbidden, _) = try await HTTP.post(url, wire)
            #expect(forbidden == 403)
            let (foreign, empty) = try await HTTP.post(url, try TestPaths.argoFixture("04-unhandled-plugin-slack.request.json"), headers: agentHeaders)
            #expect(foreign == 200 && empty == "{}")
        }
    }
}
