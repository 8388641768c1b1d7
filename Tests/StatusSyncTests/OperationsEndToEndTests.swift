import Foundation
import GRDB
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

/// Operations through the real binary: graceful stop, retry, backlog, check.
@Suite("End to end: operations")
struct OperationsEndToEndTests {
    static func post(_ serve: ServeProcess, _ body: [String: String]) async throws -> (Int, String) {
        try await HTTP.post("\(serve.baseURL)/api/v1/template.execute", CallFactory.argsJSON(body), timeout: 30)
    }

    @Test("SIGTERM during a slow provider call: new calls get 503, the call finishes, exit 0")
    func gracefulStop() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            // The call outlasts the checks below, and the grace outlasts the call by far.
            fake.setDefault(.slow(.seconds(4)))
            let port = try ServeProcess.freePort()
            let config = try EndToEndTests.writeConfig(dir, port: port, fake: fake, extra: "shutdownGrace: 30s")
            let serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: ["E2E_GITHUB_TOKEN": fake.token])
            let (code, reply) = try await Self.post(serve, ["repo": "my-org/app", "sha": CallFactory.sha, "state": "Succeeded"])
            #expect(code == 200)
            let id = try #require(EndToEndTests.updateID(reply))
            #expect(try await eventually { fake.requests.count == 1 })
            let stopped = ContinuousClock.now
            kill(serve.process.processIdentifier, SIGTERM)
            // Draining once /readyz says so.
            #expect(await eventually { await HTTP.get("\(serve.baseURL)/readyz", timeout: .milliseconds(500)) == 503 })
            let (during, text) = try await Self.post(serve, ["repo": "my-org/app", "sha": CallFactory.sha, "state": "Failed", "context": "late"])
            #expect(during == 503, "new calls during the drain: \(during) \(text)")
            await serve.waitForExit()
            #expect(serve.process.terminationStatus == 0, "\(serve.log.suffix(1500))")
            #expect(ContinuousClock.now - stopped < .seconds(20), "exited when the call finished, not at the end of the grace")
            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            let detail = try #require(try await store.detail(id: id))
            #expect(detail.update.delivery.status == .delivered, "the in-flight call finished before exit: \(detail.attempts)\n\(serve.log.suffix(3000))")
            #expect(fake.statuses.count == 1)
            #expect(try await store.history(HistoryFilter()).count == 1, "nothing recorded for the 503 call")
        }
    }

    @Test("A provider call longer than shutdownGrace is abandoned, exit 0, and retried after restart")
    func graceExceeded() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            fake.enqueue(.slow(.seconds(8)))
            let port = try ServeProcess.freePort()
            let config = try EndToEndTests.writeConfig(dir, port: port, fake: fake, extra: "shutdownGrace: 300ms")
            let env = ["E2E_GITHUB_TOKEN": fake.token]
            let serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: env)
            let (_, reply) = try await Self.post(serve, ["repo": "my-org/app", "sha": CallFactory.sha, "state": "Succeeded"])
            let id = try #require(EndToEndTests.updateID(reply))
            #expect(try await eventually { fake.requests.count == 1 })
            let stopped = ContinuousClock.now
            await serve.kill(SIGTERM)
            #expect(serve.process.terminationStatus == 0, "\(serve.log.suffix(1500))")
            #expect(ContinuousClock.now - stopped < .seconds(6), "stopped within shutdownGrace plus margin, long before the 8 s call")

            let again = try await ServeProcess.start(config: config, port: port, dir: dir, environment: env)
            defer { kill(again.process.processIdentifier, SIGTERM) }
            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            #expect(try await eventually(timeout: .seconds(30)) { try await store.detail(id: id)?.update.delivery.status == .delivered })
        }
    }

    @Test("retry ID while serve runs: picked up within 2 s; backlog shows what waits; retry of a delivered id exits 1")
    func retryAndBacklog() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            fake.setKnownSHAs([])
            let port = try ServeProcess.freePort()
            let config = try EndToEndTests.writeConfig(dir, port: port, fake: fake)
            let serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: ["E2E_GITHUB_TOKEN": fake.token])
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            let (_, reply) = try await Self.post(serve, ["repo": "my-org/app", "sha": CallFactory.sha, "state": "Succeeded"])
            let id = try #require(EndToEndTests.updateID(reply))
            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            #expect(try await eventually { try await store.detail(id: id)?.update.delivery.status == .failed })
            let empty = try await ServeProcess.cli(["backlog", "--config", config], in: dir)
            #expect(empty.status == 0 && empty.out.contains("backlog is empty"))

            fake.setKnownSHAs(nil)
            let retried = try await ServeProcess.cli(["retry", String(id), "--config", config], in: dir)
            #expect(retried.status == 0, "\(retried.err)")
            #expect(retried.out.contains("requeued 1 update"))
            #expect(try await eventually(timeout: .seconds(30)) { try await store.detail(id: id)?.update.delivery.status == .delivered })
            // Pick-up is measured on serve's own clock, not by this test's polling: from the requeue
            // (age_from, written by retry) to the start of the provider call that delivered it.
            let (requeuedAt, startedAt) = try #require(try await store.database.reader.read { db -> (Int64, Int64)? in
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT u.age_from, a.at FROM updates u JOIN attempts a ON a.update_id = u.id AND a.http_status = 201 WHERE u.id = ?
                    """, arguments: [id]) else { return nil }
                return (row[0], row[1])
            })
            #expect(startedAt - requeuedAt < 2000, "a running serve picks requeues up within 2 s (took \(startedAt - requeuedAt) ms)")
            let detail = try #require(try await store.detail(id: id))
            #expect(detail.attempts.map(\.httpStatus) == [422, 201], "history kept across the retry")

            let bad = try await ServeProcess.cli(["retry", String(id), "--config", config], in: dir)
            #expect(bad.status == 1)
            #expect(bad.err.contains("update \(id) is delivered, not failed or dead"))
            let usage = try await ServeProcess.cli(["retry", "--config", config], in: dir)
            #expect(usage.status == 64)

            // A backlog entry: the provider answers 503 for a while.
            fake.setDefault(.serverError(503))
            let (_, second) = try await Self.post(serve, ["repo": "my-org/app", "sha": CallFactory.sha, "state": "Failed", "context": "b"])
            let secondID = try #require(EndToEndTests.updateID(second))
            #expect(try await eventually { try await store.detail(id: secondID)?.update.delivery.lastError != nil })
            let backlog = try await ServeProcess.cli(["backlog", "--json", "--config", config], in: dir)
            guard case .array(let rows) = try JSONValue.parse(Data(backlog.out.utf8)) else { Issue.record("backlog: \(backlog.out)"); return }
            #expect(rows.compactMap { $0["id"] } == [.number(Double(secondID))])
            #expect(rows.first?["delivery"]?["lastError"]?.stringValue?.contains("503") == true || rows.first?["delivery"]?["lastError"]?.stringValue?.contains("Server Error") == true)
            // The table opens with a line per provider: waiting, oldest, drain time at its pacing.
            let table = try await ServeProcess.cli(["backlog", "--config", config], in: dir)
            let first = table.out.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.hasPrefix("github: 1 waiting, oldest ") && first.contains("drains in about") && first.hasSuffix("at 600000/min"), "\(table.out)")
        }
    }

    @Test("check: config, token, provider authentication, database; exit 1 when one fails")
    func check() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            let port = try ServeProcess.freePort()
            let config = try EndToEndTests.writeConfig(dir, port: port, fake: fake)
            let good = try await ServeProcess.cli(["check", "--config", config], environment: ["E2E_GITHUB_TOKEN": fake.token], in: dir)
            #expect(good.status == 0, "\(good.out)\(good.err)")
            #expect(good.out.contains("authenticated as statussync-bot"))
            #expect(good.out.contains("does not exist yet; serve creates it"))
            #expect(!good.out.contains(fake.token))

            let bad = try await ServeProcess.cli(["check", "--config", config], environment: ["E2E_GITHUB_TOKEN": "wrong"], in: dir)
            #expect(bad.status == 1)
            #expect(bad.out.contains("FAIL") && bad.out.contains("HTTP 401") && bad.out.contains("Bad credentials"))
            // Every runtime error has a one-line reason on stderr; the report stays on stdout.
            #expect(bad.err.contains("1 check failed") && bad.err.contains("HTTP 401"), "\(bad.err)")
            #expect(bad.err.split(separator: "\n").count == 1)

            let unset = try await ServeProcess.cli(["check", "--config", config], environment: ["E2E_GITHUB_TOKEN": ""], in: dir)
            #expect(unset.status == 1)
            #expect(unset.out.contains("environment variable E2E_GITHUB_TOKEN is not set or empty"))
            #expect(unset.err.contains("E2E_GITHUB_TOKEN"), "\(unset.err)")
        }
    }
}
