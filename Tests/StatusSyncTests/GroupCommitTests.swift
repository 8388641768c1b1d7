import Foundation
import GRDB
import Synchronization
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

@Suite("Group commit")
struct GroupCommitTests {
    @Test("Concurrent calls share transactions; each reply comes after its commit; all are durable")
    func sharedCommits() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let results = try await withThrowingTaskGroup(of: AcceptResult.self) { group in
            for i in 0..<200 {
                group.addTask { try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "ctx-\(i)"))) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0.outcome == .accepted(.queued) })
        #expect(Set(results.compactMap(\.updateID)).count == 200)
        let batches = try #require(store.batcher?.committedBatches)
        #expect(batches < 200, "200 concurrent calls took \(batches) transactions")
        // Every acknowledged update is on disk, seen from another connection.
        let reader = try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite"))
        let count = try await reader.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM updates") }
        #expect(count == 200)
    }

    @Test("Without failures a batch is one plain transaction: no savepoint per item (they journal every page)")
    func plainBatches() async throws {
        let dir = try TempDirectory()
        let database = try AppDatabase.openForWriting(path: dir.path("p.sqlite"))
        try await database.writer.write { try $0.execute(sql: "CREATE TABLE t(n INTEGER PRIMARY KEY)") }
        let statements = Mutex<[String]>([])
        try await database.writer.writeWithoutTransaction { db in
            db.trace { event in
                if case .statement(let statement) = event { statements.withLock { $0.append(statement.sql) } }
            }
        }
        let commit = GroupCommit<Int, Int>(writer: database.writer) { n, db in
            try db.execute(sql: "INSERT INTO t(n) VALUES (?)", arguments: [n])
            return n
        }
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<100 { group.addTask { try await commit.submit(n) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0..<100))
        let sql = statements.withLock { $0 }
        #expect(sql.filter { $0.contains("INSERT INTO t") }.count == 100)
        #expect(!sql.contains { $0.uppercased().contains("SAVEPOINT") }, "no savepoints: \(sql.filter { $0.uppercased().contains("SAVEPOINT") }.prefix(3))")
        #expect(commit.committedBatches < 100)
    }

    @Test("A failing item rolls back only its savepoint; the rest of the batch commits")
    func isolation() async throws {
        let dir = try TempDirectory()
        let database = try AppDatabase.openForWriting(path: dir.path("g.sqlite"))
        try await database.writer.write { try $0.execute(sql: "CREATE TABLE t(n INTEGER PRIMARY KEY)") }
        struct Odd: Error {}
        let commit = GroupCommit<Int, Int>(writer: database.writer) { n, db in
            try db.execute(sql: "INSERT INTO t(n) VALUES (?)", arguments: [n])
            if n % 2 == 1 { throw Odd() }
            return n
        }
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for n in 0..<50 { group.addTask { (n, (try? await commit.submit(n)) != nil) } }
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.filter(\.value).map(\.key).sorted() == Array(stride(from: 0, to: 50, by: 2)))
        let stored = try await database.writer.read { try Int.fetchAll($0, sql: "SELECT n FROM t ORDER BY n") }
        #expect(stored == Array(stride(from: 0, to: 50, by: 2)), "odd inserts rolled back with their savepoint")
    }

    @Test("A write that arrives while a batch's statements run joins that transaction before its COMMIT; a failing late write still rolls back alone")
    func lateArrivalsJoin() async throws {
        let dir = try TempDirectory()
        let database = try AppDatabase.openForWriting(path: dir.path("j.sqlite"))
        try await database.writer.write { try $0.execute(sql: "CREATE TABLE t(n INTEGER PRIMARY KEY)") }
        struct Refused: Error {}
        let firstIsWriting = DispatchSemaphore(value: 0)
        let othersQueued = DispatchSemaphore(value: 0)
        let held = Mutex(false)
        let commit = GroupCommit<Int, Int>(writer: database.writer) { n, db in
            let holdOpen = n == 0 && held.withLock { wasHeld in
                defer { wasHeld = true }
                return !wasHeld
            }
            if holdOpen {
                firstIsWriting.signal()
                othersQueued.wait()  // hold the first batch open until the others are queued (once)
            }
            try db.execute(sql: "INSERT INTO t(n) VALUES (?)", arguments: [n])
            if n == 2 { throw Refused() }
            return n
        }
        let first = Task { try await commit.submit(0) }
        await withCheckedContinuation { c in DispatchQueue.global().async { firstIsWriting.wait(); c.resume() } }
        let second = Task { try await commit.submit(1) }
        let third = Task { try await commit.submit(2) }
        while commit.queuedWrites < 2 { try await Task.sleep(for: .milliseconds(5)) }
        othersQueued.signal()
        #expect(try await first.value == 0)
        #expect(try await second.value == 1)
        let refused = await third.result
        #expect(throws: Refused.self) { try refused.get() }
        #expect(commit.committedBatches == 1, "the late writes shared the first transaction (\(commit.committedBatches) commits)")
        let stored = try await database.writer.read { try Int.fetchAll($0, sql: "SELECT n FROM t ORDER BY n") }
        #expect(stored == [0, 1], "the failing late write rolled back alone")
    }
}
