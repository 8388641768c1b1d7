import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Testing
@testable import StatusSyncDelivery
@testable import StatusSyncCore
@testable import StatusSyncStore

@Suite("Operator control: retry and prune (docs/design.md#retries, #retention)")
struct MaintenanceTests {
    @Test("retry requeues failed and dead updates with attempts and age reset, keeps history, refuses others")
    func requeue() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let a = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "a")))
        let b = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "b")))
        let c = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "c")))
        let jobs = try await store.claimDue(limit: 10).jobs
        let attempt = AttemptRecord(at: Date(), duration: .milliseconds(5), operation: .status, httpStatus: 422, errorClass: "permanent", error: "No commit found")
        try await store.finish(jobs.first { $0.id == a.updateID }!, attempt: attempt, decision: .giveUp(.failed, error: "No commit found"))
        try await store.finish(jobs.first { $0.id == b.updateID }!, attempt: attempt, decision: .giveUp(.dead, error: "gave up"))

        let results = try await store.requeue(ids: [a.updateID!, c.updateID!, 424242])
        #expect(results[a.updateID!] == .requeued)
        #expect(results[c.updateID!] == .notRetryable(.delivering))
        #expect(results[424242] == .notFound)
        let detail = try #require(try await store.detail(id: a.updateID!))
        #expect(detail.update.delivery.status == .queued)
        #expect(detail.update.delivery.attempts == 0)
        #expect(detail.attempts.count == 1, "attempt history kept")
        let dead = try await store.requeue(status: .dead)
        #expect(dead == [b.updateID!: .requeued])
        #expect(Set(try await store.claimDue(limit: 10).jobs.map(\.id)) == [a.updateID!, b.updateID!])
    }

    @Test("retry never moves a status backwards: with a newer update for the context it is superseded instead")
    func requeueSuperseded() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let old = try await store.accept(CallFactory.call(CallFactory.status("Running")))
        let job = try await store.claimDue(limit: 1).jobs[0]
        try await store.finish(job, attempt: nil, decision: .giveUp(.failed, error: "x"))
        let newer = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
        let result = try await store.requeue(ids: [old.updateID!])
        #expect(result[old.updateID!] == .superseded(by: newer.updateID!))
        #expect(try await store.detail(id: old.updateID!)?.update.delivery.status == .superseded)
    }

    @Test("prune removes finished history older than the cutoff, never queued or delivering updates")
    func prune() async throws {
        let dir = try TempDirectory()
        let clock = TestClock(Date(timeIntervalSinceNow: -40 * 86_400))
        let store = try SQLiteStore.temporary(in: dir, now: { clock.now })
        // Old: one delivered, one still queued (another context), one rejected call.
        let delivered = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "old"), at: clock.now))
        let job = try await store.claimDue(limit: 1).jobs[0]
        try await store.finish(job, attempt: AttemptRecord(at: clock.now, duration: .zero, operation: .status, httpStatus: 201, errorClass: "ok", error: nil), decision: .delivered)
        let queued = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "stuck"), at: clock.now))
        _ = try await store.accept(CallFactory.call(["repo": "bad"], at: clock.now))
        // New: delivered recently.
        clock.now = Date()
        let recent = try await store.accept(CallFactory.call(CallFactory.status("Failed", context: "new"), at: clock.now))

        let result = try await store.prune(before: Date().addingTimeInterval(-30 * 86_400), batchSize: 1)
        #expect(result.updates == 1)
        #expect(result.calls == 2, "the delivered update's call and the old rejected call")
        #expect(result.attempts == 1)
        #expect(try await store.detail(id: delivered.updateID!) == nil)
        #expect(try await store.detail(id: queued.updateID!) != nil, "queued updates are never pruned")
        #expect(try await store.detail(id: recent.updateID!) != nil)
        #expect(try await store.calls(CallsFilter()).count == 2)
        let orphans = try await store.database.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM attempts WHERE update_id NOT IN (SELECT id FROM updates)") }
        #expect(orphans == 0)
    }
}

/// A settable clock for tests that need old timestamps.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date
    init(_ start: Date) { value = start }
    var now: Date {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

@Suite("Retention service")
struct RetentionServiceTests {
    @Test("serve's retention job prunes finished history older than retention and keeps the backlog")
    func prunesOnSchedule() async throws {
        let dir = try TempDirectory()
        let clock = TestClock(Date(timeIntervalSinceNow: -10 * 86_400))
        let store = try SQLiteStore.temporary(in: dir, now: { clock.now })
        let old = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "old"), at: clock.now))
        let job = try await store.claimDue(limit: 1).jobs[0]
        try await store.finish(job, attempt: nil, decision: .delivered)
        let waiting = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "waiting"), at: clock.now))
        var logger = Logger(label: "retention")
        logger.logLevel = .critical
        let service = RetentionService(store: store, retention: .seconds(86_400), interval: .milliseconds(50), firstRunAfter: .milliseconds(10), logger: logger)
        try await ServiceGroup.running([service], logger: logger) {
            let pruned = try await eventually { try await store.detail(id: old.updateID!) == nil }
            #expect(pruned)
        }
        #expect(try await store.detail(id: waiting.updateID!) != nil, "queued updates survive retention")
    }
}
