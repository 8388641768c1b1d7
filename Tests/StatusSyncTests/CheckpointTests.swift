import CMallocTuning
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Testing
@testable import StatusSyncDelivery
@testable import StatusSyncStore

@Suite("Write-ahead log checkpoints beside the writer, and serve's process settings")
struct CheckpointTests {
    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// Writes `rows` rows of 1 KiB in separate transactions.
    static func write(_ database: AppDatabase, rows: Int) async throws {
        for i in 0..<rows {
            try await database.writer.write { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS blob(n INTEGER PRIMARY KEY, v TEXT)")
                try db.execute(sql: "INSERT INTO blob(n, v) VALUES (?, ?)", arguments: [i, String(repeating: "x", count: 1024)])
            }
        }
    }

    @Test("The writer's automatic checkpoint threshold is what serve asks for")
    func autoCheckpointSetting() async throws {
        let dir = try TempDirectory()
        let raised = try AppDatabase.openForWriting(path: dir.path("a.sqlite"), autoCheckpointPages: 8000)
        #expect(try await raised.writer.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 8000)
        let plain = try AppDatabase.openForWriting(path: dir.path("b.sqlite"))
        #expect(try await plain.writer.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 1000, "SQLite's default elsewhere")
    }

    @Test("A passive checkpoint from its own connection copies every committed frame into the database file")
    func checkpointCopies() async throws {
        let dir = try TempDirectory()
        let path = dir.path("c.sqlite")
        let database = try AppDatabase.openForWriting(path: path, autoCheckpointPages: 100_000)
        let checkpointer = try WALCheckpointer(path: path)
        try await Self.write(database, rows: 300)
        let before = Self.fileSize(path)
        let (frames, copied) = try await checkpointer.checkpoint()
        #expect(frames > 75, "300 KiB of rows are in the log: \(frames) frames")
        #expect(copied == frames, "nothing blocks a passive checkpoint here")
        #expect(Self.fileSize(path) > before + 250_000, "the rows are now in the database file")
        // The data reads back through the pool after the checkpoint.
        #expect(try await database.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM blob") } == 300)
        #expect(try await database.writer.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
    }

    @Test("CheckpointService keeps checkpointing while serve runs, and stops on graceful shutdown")
    func serviceRuns() async throws {
        let dir = try TempDirectory()
        let path = dir.path("s.sqlite")
        let database = try AppDatabase.openForWriting(path: path, autoCheckpointPages: 100_000)
        var logger = Logger(label: "checkpoint")
        logger.logLevel = .critical
        let service = CheckpointService(checkpointer: try WALCheckpointer(path: path), interval: .milliseconds(20), logger: logger)
        try await ServiceGroup.running([service], logger: logger) {
            let before = Self.fileSize(path)
            try await Self.write(database, rows: 300)
            // The writer never checkpoints here (threshold 100,000 pages): only the service copies pages.
            #expect(try await eventually { Self.fileSize(path) > before + 250_000 })
        }
    }

    @Test("serve keeps freed memory instead of trimming the heap after every batch (glibc)")
    func mallocTrimThreshold() {
        #if canImport(Glibc)
        #expect(statussync_set_malloc_trim_threshold(8 << 20) == 1)
        #else
        #expect(statussync_set_malloc_trim_threshold(8 << 20) == 0)
        #endif
    }
}
