import CSQLiteTuning
import Foundation
import GRDB
import GRDBSQLite
import Logging

/// Owns the SQLite file: opening it with the durability settings the contract promises, and the
/// schema migrations. `serve` and `migrate` open it read-write; the read commands read-only.
public final class AppDatabase: Sendable {
    public let path: String
    /// The read-write pool (`serve`, `migrate`, `retry`, `prune`), or nil when opened read-only.
    let pool: DatabasePool?
    let readOnlyQueue: DatabaseQueue?
    /// The file the writer opened (nil when opened read-only); see `checkFile()`.
    let fileIdentity: DatabaseFileIdentity?
    /// Failed and successful commits, for `/readyz` (docs/design.md#database-identity).
    let writeHealth: WriteHealth

    var reader: any DatabaseReader { pool ?? readOnlyQueue! }
    var writer: any DatabaseWriter {
        guard let pool else { preconditionFailure("the database was opened read-only") }
        return pool
    }

    private init(path: String, pool: DatabasePool?, readOnlyQueue: DatabaseQueue?, logger: Logger? = nil) {
        self.path = path
        self.pool = pool
        self.readOnlyQueue = readOnlyQueue
        self.fileIdentity = pool == nil ? nil : DatabaseFileIdentity.current(path: path)
        self.writeHealth = WriteHealth(path: path, logger: logger)
    }

    /// SQLite's process-wide settings (multi-thread mode, no memory statistics), applied once,
    /// before this process opens its first connection. True when they took.
    static let sqliteConfigured: Bool = statussync_sqlite_configure() == 1

    /// The SQLite library and the threading mode the writer connection really runs in, e.g.
    /// "3.40.1 multi-thread" (serve logs it at start).
    public func sqliteSummary() -> String {
        let mutex = writer.writeWithoutTransaction { db in sqlite3_db_mutex(db.sqliteConnection) != nil }
        return "\(String(cString: sqlite3_libversion())) \(mutex ? "serialized" : "multi-thread")"
    }

    /// What opening for writing does about the schema.
    public enum SchemaPolicy: Sendable {
        /// Apply pending migrations (serve).
        case migrate
        /// Refuse unless the schema is current (retry, prune).
        case requireCurrent
        /// Leave it alone (the migrate command reports what it applies itself).
        case leave
    }

    /// Opens (creating if needed) for writing: WAL, `synchronous=FULL` (asserted), busy timeout,
    /// foreign keys, and the schema handled per `schema`. `autoCheckpointPages` sets how large the
    /// log may grow before the writer checkpoints it itself (SQLite's default is 1000 pages); `serve`
    /// raises it because a `WALCheckpointer` does that work beside the writer.
    public static func openForWriting(path: String, busyTimeout: Double = 5, schema: SchemaPolicy = .migrate,
                                      autoCheckpointPages: Int? = nil, logger: Logger? = nil) throws -> AppDatabase {
        _ = sqliteConfigured
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
            throw StoreError(.cannotOpen, "cannot create the database at \(path): the directory \(parent) does not exist; create it or set `database:` / --database to another path")
        }
        var config = Configuration()
        config.journalMode = .wal
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "statussync"
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError(.cannotOpen, "cannot open the database at \(path): \(describe(error))")
        }
        // GRDB switches the writer to synchronous=NORMAL when it enables WAL, after any
        // prepareDatabase hook; set FULL on the writer connection now and check it took.
        let level = try pool.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            if let autoCheckpointPages { try db.execute(sql: "PRAGMA wal_autocheckpoint = \(max(1, autoCheckpointPages))") }
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard level == 2 else {
            throw StoreError(.durabilityNotGuaranteed, "refusing to start: SQLite reports synchronous=\(level) on \(path), not FULL (2), so an acknowledged update could be lost on power failure")
        }
        let journal = try pool.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA journal_mode") } ?? ""
        guard journal.lowercased() == "wal" else {
            throw StoreError(.durabilityNotGuaranteed, "refusing to start: SQLite journal_mode is \(journal) on \(path), not wal (is the file on a network file system?)")
        }
        let database = AppDatabase(path: path, pool: pool, readOnlyQueue: nil, logger: logger)
        switch schema {
        case .migrate:
            let applied = try database.migrate(logger: logger)
            for m in applied { logger?.info("applied migration", metadata: ["version": "\(m.version)", "name": "\(m.name)"]) }
        case .requireCurrent:
            try database.checkSchemaCurrent()
        case .leave:
            break
        }
        return database
    }

    /// Opens an existing database read-only (the CLI's read commands; safe while `serve` runs).
    public static func openReadOnly(path: String, busyTimeout: Double = 5) throws -> AppDatabase {
        _ = sqliteConfigured
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.databaseMissing, "no database at \(path); point --database (or `database:` in the config) at the file serve uses")
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(busyTimeout)
        config.label = "statussync-readonly"
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw StoreError(.cannotOpen, "cannot open the database at \(path) read-only: \(describe(error))")
        }
        let database = AppDatabase(path: path, pool: nil, readOnlyQueue: queue)
        try database.checkSchemaCurrent()
        return database
    }

    /// The underlying SQLite error text, without GRDB's SQL echo.
    static func describe(_ error: any Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        return "\(error)"
    }
}
