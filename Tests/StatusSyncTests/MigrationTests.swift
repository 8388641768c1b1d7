import Foundation
import GRDB
import Testing
@testable import StatusSyncStore

/// Migrations that rebuild a table keep every row and every reference: schema 7 rebuilds
/// `updates` (its CHECK constraints without temporary b-trees) under rows of `calls` and
/// `attempts` that reference it, and rows of `updates` that reference each other.
@Suite("Store: migrating a populated database")
struct MigrationTests {
    /// A database at schema 6 as an older statussync left it, with references in every direction.
    static func schema6(at path: String) throws {
        let queue = try DatabaseQueue(path: path)  // foreign keys on, as statussync runs
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            for m in EmbeddedMigrations.all where m.version <= 6 {
                try db.inTransaction {
                    try db.execute(sql: m.sql)
                    try db.execute(sql: "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, 0)", arguments: [m.version, m.name])
                    try db.execute(sql: "PRAGMA user_version = \(m.version)")
                    return .commit
                }
            }
            try db.execute(sql: """
                INSERT INTO updates (id, created_at, provider, repo, sha, pr, context, state, description, workflow_namespace,
                                     workflow_name, workflow_uid, status, linked_id, attempts, next_attempt_at, age_from, finished_at)
                VALUES (1, 10, 'github', 'o/r', 'aaaa', NULL, 'ci', 'pending', 'd', 'ns', 'w', 'u1', 'superseded', NULL, 0, NULL, 10, 11),
                       (2, 11, 'github', 'o/r', 'aaaa', NULL, 'ci', 'success', 'd', 'ns', 'w', 'u1', 'queued', NULL, 2, 20, 11, NULL),
                       (3, 12, 'github', 'o/r', NULL, 7, 'ci', 'failure', 'd', 'ns', 'w', 'u2', 'duplicate', 2, 0, NULL, 12, 12);
                UPDATE updates SET linked_id = 2 WHERE id = 1;
                INSERT INTO calls (id, received_at, workflow_namespace, workflow_name, workflow_uid, template_name, plugin_key,
                                   body, args, reply, update_id, last_received_at)
                VALUES (1, 10, 'ns', 'w', 'u1', 't', 'statussync', '{}', '{}', '{}', 1, 10),
                       (2, 11, 'ns', 'w', 'u1', 't', 'statussync', '{}', '{}', '{}', 2, 11),
                       (3, 12, 'ns', 'w', 'u2', 't', 'statussync', '{}', '{}', '{}', 3, 12);
                INSERT INTO attempts (update_id, at, duration_ms, operation, http_status, error_class)
                VALUES (2, 15, 30, 'status', 503, 'transient');
                """)
        }
    }

    /// Every column of every row, as text (`Row` is not Sendable).
    static func dump(_ db: Database, _ table: String) throws -> [String] {
        try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY id").map(\.description)
    }

    @Test("Schema 7 keeps every update, call and attempt, the references between them, the indexes and the rules")
    func rebuildKeepsRowsAndReferences() async throws {
        let dir = try TempDirectory()
        let path = dir.path("old.sqlite")
        try Self.schema6(at: path)
        let before = try await DatabaseQueue(path: path).read { db in (try Self.dump(db, "updates"), try Self.dump(db, "calls"), try Self.dump(db, "attempts")) }
        #expect(before.0.count == 3 && before.1.count == 3 && before.2.count == 1)
        #expect(before.0[0].contains("linked_id:2"))

        let database = try AppDatabase.openForWriting(path: path)
        #expect(try database.schemaVersion() == 12)
        try await database.writer.write { db in
            // Schema 10 adds updates.report: every earlier update was a commit status.
            #expect(try Self.dump(db, "updates") == before.0.map { String($0.dropLast()) + " report:\"status\"]" })
            #expect(try Self.dump(db, "calls") == before.1)
            #expect(try Self.dump(db, "attempts") == before.2)
            #expect(try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") == true, "foreign keys are back on after migrating")
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
            #expect(try Set(String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'updates' AND sql IS NOT NULL"))
                    == ["updates_subject", "updates_pr_subject", "updates_due", "updates_in_flight", "updates_due_final", "updates_due_progress", "updates_status"])
            #expect(try String.fetchOne(db, sql: "SELECT name FROM sqlite_schema WHERE name = 'updates_new'") == nil)
            #expect(try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'check_runs' AND sql IS NOT NULL") == ["check_runs_run"])
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE updates SET report = 'comment' WHERE id = 2") }
            let table = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE name = 'updates'") ?? ""
            #expect(!table.contains(" IN ("), "the checks are OR comparisons")

            // The rules still hold.
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE updates SET state = 'Succeeded' WHERE id = 2") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE updates SET status = 'sent' WHERE id = 2") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE updates SET sha = NULL WHERE id = 2") }
            try db.execute(sql: "UPDATE updates SET state = 'skipped', status = 'dead' WHERE id = 2")
            #expect(throws: DatabaseError.self) { try db.execute(sql: "INSERT INTO calls (received_at, workflow_namespace, workflow_name, workflow_uid, template_name, plugin_key, body, args, update_id, last_received_at) VALUES (1, 'ns', 'w', 'u', 't', 'k', '{}', '{}', 99, 1)") }

            // And the references act on the new table: deleting update 2 takes its call and attempt,
            // and the updates that linked to it keep their rows with no link.
            try db.execute(sql: "DELETE FROM updates WHERE id = 2")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM calls WHERE update_id = 2") == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attempts") == 0)
            #expect(try Int64?.fetchAll(db, sql: "SELECT linked_id FROM updates ORDER BY id") == [nil, nil])
        }
        #expect(try database.migrate().isEmpty, "a second migrate applies nothing")
    }
    @Test("A migration that would leave a broken reference is rolled back with a clear error, and foreign keys come back on")
    func brokenReferenceRollsBack() async throws {
        let dir = try TempDirectory()
        let database = try AppDatabase.openForWriting(path: dir.path("s.sqlite"))
        let faulty = EmbeddedMigration(version: AppDatabase.latestVersion + 1, name: "faulty", sql: """
            CREATE TABLE extra (x INTEGER);
            INSERT INTO calls (received_at, workflow_namespace, workflow_name, workflow_uid, template_name, plugin_key, body, args, update_id, last_received_at)
            VALUES (1, 'ns', 'w', 'u', 't', 'k', '{}', '{}', 42, 1);
            """)
        let error = #expect(throws: StoreError.self) { try database.migrate(EmbeddedMigrations.all + [faulty]) }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains("migration \(faulty.version) (faulty)") == true)
        #expect(error?.message.contains("table calls") == true)
        #expect(error?.message.contains("rolled back") == true)
        let (version, calls, extra, foreignKeys) = try await database.writer.write { db in
            (try Int.fetchOne(db, sql: "PRAGMA user_version"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM calls"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'extra'"), try Bool.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(version == AppDatabase.latestVersion)
        #expect(calls == 0 && extra == 0, "nothing of the faulty migration stays")
        #expect(foreignKeys == true)
    }
}
