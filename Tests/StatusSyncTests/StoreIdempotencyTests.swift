import Foundation
import GRDB
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

/// Calls without `key` are identified by workflow uid + template name + plugin body (docs/design.md#idempotency),
/// found through their update's subject since schema 4; explicit keys keep their unique index.
@Suite("Store: repeated calls without a key, found through the subject")
struct StoreIdempotencyTests {
    let w1 = WorkflowRef(namespace: "ci", name: "w1", uid: "uid-1")
    let w2 = WorkflowRef(namespace: "ci", name: "w2", uid: "uid-2")

    @Test("Without a key, no idempotency key is stored; the same call again replays; another workflow is a new call")
    func autoRepeat() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let body = CallFactory.status("Succeeded", context: "ci/build")
        let first = try await store.accept(CallFactory.call(body, workflow: w1))
        #expect(first.outcome == .accepted(.queued))
        let again = try await store.accept(CallFactory.call(body, workflow: w1))
        #expect(again.outcome == .repeated)
        #expect(again.callID == first.callID)
        #expect(again.reply == first.reply)
        let other = try await store.accept(CallFactory.call(body, workflow: w2))
        #expect(other.outcome != .repeated, "another workflow's identical body is a new call")
        #expect(other.callID != first.callID)
        let keys = try await store.database.writer.read { try String?.fetchAll($0, sql: "SELECT idem_key FROM calls ORDER BY id") }
        #expect(keys == [nil, nil], "automatic keys are not stored")
        #expect(try await store.history(HistoryFilter()).count == 2)
    }

    @Test("An explicit key and no key never match each other, even with the same body")
    func explicitAndAutoAreSeparate() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let auto = try await store.accept(CallFactory.call(CallFactory.status("Running"), workflow: w1))
        #expect(auto.outcome == .accepted(.queued))
        let keyed = try await store.accept(CallFactory.call(CallFactory.status("Running", extra: ["key": "k"]), workflow: w1))
        #expect(keyed.outcome == .accepted(.duplicate), "a keyed call is not a repeat of an unkeyed one")
        #expect(keyed.callID != auto.callID)
        let autoAgain = try await store.accept(CallFactory.call(CallFactory.status("Running"), workflow: w1))
        #expect(autoAgain.outcome == .repeated)
        #expect(autoAgain.callID == auto.callID, "the unkeyed repeat finds the unkeyed call, not the keyed one")
        let keys = try await store.database.writer.read { try String?.fetchAll($0, sql: "SELECT idem_key FROM calls ORDER BY id") }
        #expect(keys == [nil, "key:k"])
    }

    @Test("A PR call without a key repeats before and after the workflow pins the PR head")
    func prRepeatAcrossPinning() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let body = ["repo": "my-org/app", "pr": "12", "state": "Running", "context": "ci/argo"]
        let first = try await store.accept(CallFactory.call(body, workflow: w1))
        #expect(try await store.accept(CallFactory.call(body, workflow: w1)).outcome == .repeated, "before pinning: same sha-less subject")
        let job = try #require(try await store.claimDue(limit: 1).jobs.first)
        _ = try await store.pin(job, head: PullRequestHead(sha: "1111111111111111111111111111111111111111", sourceBranch: nil), attempt: nil)
        let after = try await store.accept(CallFactory.call(body, workflow: w1))
        #expect(after.outcome == .repeated, "after pinning: the update moved to the pinned sha, and so does the lookup")
        #expect(after.callID == first.callID)
        #expect(try await store.history(HistoryFilter()).count == 1)
    }

    @Test("Tenants: the same call without a key from another tenant is another call")
    func perTenant() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let a = CallFactory.call(CallFactory.status("Running"), workflow: w1, tenant: "team-a")
        let b = CallFactory.call(CallFactory.status("Running"), workflow: w1, tenant: "team-b")
        #expect(try await store.accept(a).outcome == .accepted(.queued))
        #expect(try await store.accept(b).outcome == .accepted(.duplicate))
        #expect(try await store.accept(a).outcome == .repeated)
        #expect(try await store.accept(b).outcome == .repeated)
    }

    @Test("Migration 4 drops stored automatic keys and keeps explicit ones; old calls still repeat")
    func migrationFromVersion3() async throws {
        let dir = try TempDirectory()
        let path = dir.path("old.sqlite")
        // A version-3 database with one call of each kind, as the previous release stored them.
        let raw = try DatabaseQueue(path: path)
        try await raw.write { db in
            for m in EmbeddedMigrations.all where m.version <= 3 {
                try db.execute(sql: m.sql)
                try db.execute(sql: "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, 0)", arguments: [m.version, m.name])
            }
            try db.execute(sql: "PRAGMA user_version = 3")
            // This release's accept (which writes the old rows below) also sets updates.report
            // (schema 10): lend it the column, and take it back before migrating.
            try db.execute(sql: "ALTER TABLE updates ADD COLUMN report TEXT NOT NULL DEFAULT 'status'")
        }
        try raw.close()
        let old = SQLiteStore(database: try AppDatabase.openForWriting(path: path, schema: .leave))
        let auto = try await old.accept(CallFactory.call(CallFactory.status("Running"), workflow: w1))
        let keyed = try await old.accept(CallFactory.call(CallFactory.status("Running", context: "other", extra: ["key": "k"]), workflow: w1))
        try await old.database.writer.write { db in
            try db.execute(sql: "UPDATE calls SET idem_key = ? WHERE id = ?", arguments: ["auto:uid-1\nreport-status\n{...}", auto.callID])
            try db.execute(sql: "ALTER TABLE updates DROP COLUMN report")
        }

        let applied = try old.database.migrate()
        #expect(applied.map(\.version).first == 4)
        let keys = try await old.database.writer.read { try String?.fetchAll($0, sql: "SELECT idem_key FROM calls ORDER BY id") }
        #expect(keys == [nil, "key:k"])
        let store = SQLiteStore(database: old.database)
        #expect(try await store.accept(CallFactory.call(CallFactory.status("Running"), workflow: w1)).callID == auto.callID)
        #expect(try await store.accept(CallFactory.call(CallFactory.status("Running", context: "other", extra: ["key": "k"]), workflow: w1)).callID == keyed.callID)
    }
}
