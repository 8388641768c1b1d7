import Foundation
import GRDB
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

/// The time columns have no index since schema 5: pruning and `--since` find the first new id by a
/// binary search over ids (SQLiteStore.firstID).
@Suite("Store: time boundaries without time indexes (schema 5)")
struct TimeRangeTests {
    /// Accepts `count` calls, one per context, each a minute after the previous, from `start`.
    static func accept(_ store: SQLiteStore, count: Int, from start: Date, prefix: String) async throws -> [AcceptResult] {
        var results: [AcceptResult] = []
        for i in 0..<count {
            let at = start.addingTimeInterval(Double(i) * 60)
            results.append(try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "\(prefix)-\(i)"), at: at)))
        }
        return results
    }

    @Test("The time indexes are gone, and the boundary search agrees with a full scan, with gaps in the ids")
    func boundaryMatchesScan() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        _ = try await Self.accept(store, count: 200, from: start, prefix: "c")
        let indexes = try await store.database.reader.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index'") }
        #expect(!indexes.contains("updates_created") && !indexes.contains("calls_received"))
        // Holes in the id sequence, as pruning and deletes leave them.
        try await store.database.writer.write { db in
            try db.execute(sql: "DELETE FROM calls WHERE update_id IN (SELECT id FROM updates WHERE id % 3 = 0 OR id BETWEEN 50 AND 90)")
            try db.execute(sql: "DELETE FROM updates WHERE id % 3 = 0 OR id BETWEEN 50 AND 90")
        }
        for minute in [-5, 0, 1, 49, 50, 70, 91, 120, 199, 200, 500] {
            let ms = Timestamp.ms(start.addingTimeInterval(Double(minute) * 60))
            let (found, scanned) = try await store.database.reader.read { db in
                (try SQLiteStore.firstID(in: .updates, atOrAfter: ms, in: db),
                 try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM updates WHERE created_at >= ?", arguments: [ms]))
            }
            #expect(found == scanned, "minute \(minute): binary search \(String(describing: found)), scan \(String(describing: scanned))")
            let calls = try await store.database.reader.read { db in
                (try SQLiteStore.firstID(in: .calls, atOrAfter: ms, in: db),
                 try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM calls WHERE received_at >= ?", arguments: [ms]))
            }
            #expect(calls.0 == calls.1, "calls, minute \(minute)")
        }
        let emptyDir = try TempDirectory()
        let empty = try SQLiteStore.temporary(in: emptyDir)
        #expect(try await empty.database.reader.read { try SQLiteStore.firstID(in: .updates, atOrAfter: 0, in: $0) } == nil)
    }

    @Test("history and calls --since return exactly the rows at or after the time")
    func since() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let accepted = try await Self.accept(store, count: 120, from: start, prefix: "s")
        var filter = HistoryFilter()
        filter.since = start.addingTimeInterval(100 * 60)
        filter.limit = 1000
        let history = try await store.history(filter)
        #expect(history.map(\.id).sorted() == accepted[100...].compactMap(\.updateID))
        var calls = CallsFilter()
        calls.since = start.addingTimeInterval(100 * 60)
        calls.limit = 1000
        #expect(try await store.calls(calls).count == 20)
        filter.since = start.addingTimeInterval(1000 * 60)
        #expect(try await store.history(filter).isEmpty, "nothing that new")
    }

    @Test("prune deletes every finished update older than the cutoff in batches, keeps the new and the queued")
    func pruneAcrossBatches() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let old = Date(timeIntervalSinceNow: -40 * 86_400)
        let olds = try await Self.accept(store, count: 30, from: old, prefix: "old")
        // Deliver all but the last old one (it stays queued and must survive).
        let jobs = try await store.claimDue(limit: 29).jobs
        for job in jobs { try await store.finish(job, attempt: nil, decision: .delivered) }
        let news = try await Self.accept(store, count: 10, from: Date(), prefix: "new")
        let result = try await store.prune(before: Date().addingTimeInterval(-30 * 86_400), batchSize: 7)
        #expect(result.updates == 29)
        let left = try await store.database.reader.read { try Int64.fetchAll($0, sql: "SELECT id FROM updates ORDER BY id") }
        #expect(left == [olds[29].updateID!] + news.compactMap(\.updateID))
    }
}
