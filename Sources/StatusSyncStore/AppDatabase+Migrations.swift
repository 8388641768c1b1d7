import Foundation
import StatusSyncCore
import GRDB
import Logging

extension AppDatabase {
    public struct AppliedMigration: Sendable, Equatable {
        public let version: Int
        public let name: String
    }

    static var latestVersion: Int { EmbeddedMigrations.all.last?.version ?? 0 }

    /// Applies pending migrations in order, each in its own transaction together with its
    /// `schema_migrations` row and `PRAGMA user_version`. Returns what was applied.
    ///
    /// Foreign keys are off while migrations run (SQLite ignores the pragma inside a transaction),
    /// so a migration may rebuild a table the documented way (new table, copy, drop, rename)
    /// without the drop cascading into the rows that reference it. Each migration must leave every
    /// reference valid: `PRAGMA foreign_key_check` runs before its commit, and a violation rolls
    /// it back. The connection's setting is restored afterwards.
    @discardableResult
    public func migrate(logger: Logger? = nil) throws -> [AppliedMigration] {
        try migrate(EmbeddedMigrations.all, logger: logger)
    }

    /// `migrate(logger:)` with the given migrations (tests add a faulty one).
    func migrate(_ migrations: [EmbeddedMigration], logger: Logger? = nil) throws -> [AppliedMigration] {
        let latest = migrations.last?.version ?? 0
        return try writer.writeWithoutTransaction { db in
            let current = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            guard current <= latest else {
                throw StoreError(.schemaTooNew, "the database at \(path) has schema version \(current), newer than this binary knows (\(latest)); run a newer statussync")
            }
            let pending = migrations.filter { $0.version > current }
            guard !pending.isEmpty else { return [] }
            let foreignKeys = try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA foreign_keys = \(foreignKeys ? "ON" : "OFF")") }
            var applied: [AppliedMigration] = []
            for m in pending {
                logger?.info("applying migration", metadata: ["version": "\(m.version)", "name": "\(m.name)"])
                try db.inTransaction(.immediate) {
                    try db.execute(sql: m.sql)
                    let broken = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
                    if let first = broken.first {
                        throw StoreError(.migrationFailed, "migration \(m.version) (\(m.name)) would leave \(broken.count) row(s) referring to rows that do not exist (the first: table \(first[0] as String? ?? "?"), rowid \(first[1] as Int64? ?? 0)); it was rolled back and the database is unchanged. `sqlite3 \(path) 'PRAGMA foreign_key_check'` lists such rows; report them with the statussync version")
                    }
                    try db.execute(sql: "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                                   arguments: [m.version, m.name, Timestamp.ms(Date())])
                    try db.execute(sql: "PRAGMA user_version = \(m.version)")
                    return .commit
                }
                applied.append(AppliedMigration(version: m.version, name: m.name))
            }
            return applied
        }
    }

    /// The schema version stored in the file.
    public func schemaVersion() throws -> Int {
        try reader.read { try Int.fetchOne($0, sql: "PRAGMA user_version") ?? 0 }
    }

    func checkSchemaCurrent() throws {
        let version = try schemaVersion()
        if version < Self.latestVersion {
            throw StoreError(.notMigrated, "the database at \(path) is at schema version \(version), this binary needs \(Self.latestVersion); run `statussync migrate` (serve migrates at start)")
        }
        if version > Self.latestVersion {
            throw StoreError(.schemaTooNew, "the database at \(path) has schema version \(version), newer than this binary knows (\(Self.latestVersion)); run a newer statussync")
        }
    }
}
