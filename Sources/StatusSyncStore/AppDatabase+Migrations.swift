import Foundation
import GRDB

extension AppDatabase {
    public struct AppliedMigration: Sendable, Equatable {
        public let version: Int
        public let name: String
    }

    static var latestVersion: Int { EmbeddedMigrations.all.last?.version ?? 0 }

    /// Applies pending migrations in order, each in its own transaction together with its
    /// `schema_migrations` row and `PRAGMA user_version`. Returns what was applied.
    @discardableResult
    public func migrate() throws -> [AppliedMigration] {
        try writer.writeWithoutTransaction { db in
            let current = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            guard current <= Self.latestVersion else {
                throw StoreError(.schemaTooNew, "the database at \(path) has schema version \(current), newer than this binary knows (\(Self.latestVersion)); run a newer statussync")
            }
            var applied: [AppliedMigration] = []
            for m in EmbeddedMigrations.all where m.version > current {
                try db.inTransaction(.immediate) {
                    try db.execute(sql: m.sql)
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
