import Foundation
import GRDB
import InMemoryLogging
import Logging
import Synchronization
import Testing
@testable import StatusSyncCLI
@testable import StatusSyncCore
@testable import StatusSyncDelivery
@testable import StatusSyncProviders
@testable import StatusSyncStore

/// docs/design.md#delivery-order: under a provider's budget, finals go first, nothing non-final
/// waits past maxDeferral, and an update waiting for budget stays queued (so it can still be
/// superseded).
@Suite("Delivery order under the provider's budget")
struct DeliveryOrderTests {
    /// A clock the test moves by hand.
    final class Clock: Sendable {
        private let value = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var now: Date { value.withLock { $0 } }
        func advance(_ seconds: Double) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    static let github = [ClaimBudget(provider: "github", calls: nil)]

    static func accept(_ store: SQLiteStore, _ state: String, context: String, at: Date = Date()) async throws -> Int64 {
        try #require(try await store.accept(CallFactory.call(CallFactory.status(state, context: context), at: at)).updateID)
    }

    @Test("Finals before pending and running, oldest first within each; a budget takes only its number")
    func finalsFirst() async throws {
        let dir = try TempDirectory()
        let clock = Clock()
        let store = try SQLiteStore.temporary(in: dir, now: { clock.now })
        var ids: [String: Int64] = [:]
        for (n, state) in ["Pending", "Running", "Succeeded", "Pending", "Failed", "Error"].enumerated() {
            ids["c\(n)"] = try await Self.accept(store, state, context: "c\(n)", at: clock.now)
            clock.advance(1)
        }
        let first = try await store.claimDue(limit: 10, budgets: [ClaimBudget(provider: "github", calls: 2)], maxDeferral: .seconds(300))
        #expect(first.jobs.map(\.id) == [ids["c2"]!, ids["c4"]!])
        #expect(first.waitingForBudget == ["github"])
        let rest = try await store.claimDue(limit: 10, budgets: Self.github, maxDeferral: .seconds(300))
        #expect(rest.jobs.map(\.id) == [ids["c5"]!, ids["c0"]!, ids["c1"]!, ids["c3"]!])
        #expect(rest.waitingForBudget.isEmpty)
    }

    @Test("A pending or running update older than maxDeferral ranks among the finals by its accept time")
    func maxDeferral() async throws {
        let dir = try TempDirectory()
        let clock = Clock()
        let store = try SQLiteStore.temporary(in: dir, now: { clock.now })
        let old = try await Self.accept(store, "Running", context: "old", at: clock.now)
        clock.advance(200)
        let final1 = try await Self.accept(store, "Succeeded", context: "f1", at: clock.now)
        let young = try await Self.accept(store, "Pending", context: "young", at: clock.now)
        clock.advance(200)  // `old` is 400 s old, past a 300 s maxDeferral; `young` is 200 s old
        let final2 = try await Self.accept(store, "Failed", context: "f2", at: clock.now)
        let jobs = try await store.claimDue(limit: 10, budgets: Self.github, maxDeferral: .seconds(300)).jobs
        #expect(jobs.map(\.id) == [old, final1, final2, young])
    }

    @Test("With no budget nothing is claimed: waiting updates stay queued, a newer one supersedes them, and a final goes first")
    func waitingStaysQueued() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let pending = try await Self.accept(store, "Pending", context: "x")
        let other = try await Self.accept(store, "Running", context: "y")
        let empty = try await store.claimDue(limit: 10, budgets: [ClaimBudget(provider: "github", calls: 0)], maxDeferral: .seconds(300))
        #expect(empty.jobs.isEmpty)
        #expect(empty.waitingForBudget == ["github"])
        #expect(try await DeliveryTests.status(store, pending) == .queued)
        let running = try await Self.accept(store, "Running", context: "x")
        let success = try await Self.accept(store, "Succeeded", context: "x")
        #expect(try await DeliveryTests.status(store, pending) == .superseded)
        #expect(try await DeliveryTests.status(store, running) == .superseded)
        let one = try await store.claimDue(limit: 10, budgets: [ClaimBudget(provider: "github", calls: 1)], maxDeferral: .seconds(300))
        #expect(one.jobs.map(\.id) == [success], "the final goes before the older running update of another context")
        #expect(try await DeliveryTests.status(store, other) == .queued)
    }

    @Test("The claim's reads walk their partial indexes in order: no table scan, no sort of the backlog")
    func claimPlan() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let plans = try await store.database.writer.read { db in
            try [DueSQL.finals, DueSQL.progress].map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: ["github", 0]).map { $0["detail"] as String }
            }
        }
        #expect(plans[0] == ["SEARCH updates USING INDEX updates_due_final (provider=?)"], "\(plans[0])")
        #expect(plans[1] == ["SEARCH updates USING INDEX updates_due_progress (provider=?)"], "\(plans[1])")
    }

    @Test("Under an empty bucket, pending → running → success on a context costs one provider call, and nothing waits as delivering")
    func oneCallPerContext() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            // One call at once, the next one 6 s later: the three updates below are accepted well
            // inside that, even on a loaded machine.
            try await DeliveryTests.withDelivery(store, fake, pacing: Pacing(burst: 1, perMinute: 10)) { delivery in
                // A final of another context takes the only token (finals go first, so even when
                // the loop claims after the pending update below is accepted).
                let first = try await Self.accept(store, "Succeeded", context: "spends-the-token")
                delivery.wake()
                var ids: [Int64] = []
                for state in ["Pending", "Running", "Succeeded"] {
                    ids.append(try await Self.accept(store, state, context: "x"))
                    delivery.wake()
                    #expect(try await DeliveryTests.status(store, ids.last!) == .queued, "waiting for budget is queued, not delivering")
                }
                #expect(try await eventually { try await DeliveryTests.status(store, ids[2]) == .delivered })
                #expect(try await DeliveryTests.status(store, first) == .delivered)
                #expect(try await DeliveryTests.status(store, ids[0]) == .superseded)
                #expect(try await DeliveryTests.status(store, ids[1]) == .superseded)
                #expect(fake.statuses.filter { $0.context == "x" }.map(\.state) == ["success"])
                #expect(fake.requests.count == 2)
            }
        }
    }
}

/// The backlog's visibility: per-provider lines, drain time and the slow-drain warning.
@Suite("Backlog per provider: drain time and warning")
struct BacklogMonitorTests {
    @Test("Drain time is the backlog over the pacing rate, after a pause still to run; the summary line says it")
    func drainTime() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let backlog = ProviderBacklog(provider: "github", waiting: 400, oldestCreatedAt: now.addingTimeInterval(-125), earliestNextAttempt: now.addingTimeInterval(60))
        #expect(backlog.drainSeconds(perSecond: 80.0 / 60, pausedFor: 60) == 360)
        #expect(backlog.summaryLine(pacing: Pacing(burst: 20, perMinute: 80), pausedFor: nil, now: now) == "github: 400 waiting, oldest 2m 5s, drains in about 6m 0s at 80/min")
        #expect(backlog.summaryLine(pacing: nil, pausedFor: nil, now: now) == "github: 400 waiting, oldest 2m 5s, unpaced")
    }

    @Test("A drain time past 5 minutes is logged once, then at most once a minute, naming the provider")
    func warning() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        for n in 0..<450 {
            _ = try await store.accept(CallFactory.call(CallFactory.status("Running", context: "c\(n)")))
        }
        let logs = InMemoryLogHandler()
        let logger = Logger(label: "backlog-test", factory: { _ in logs })
        let http = ProviderHTTPClient(timeout: .seconds(1))
        let provider = GitHubProvider(name: "github", baseURL: "http://127.0.0.1:9", token: "t", pacing: Pacing(burst: 20, perMinute: 80), http: http)
        let delivery = DeliveryService(store: store, providers: [provider], settings: DeliveryTests.settings(), logger: logger)
        let clock = DeliveryOrderTests.Clock()
        let monitor = BacklogMonitor(store: store, delivery: delivery, logger: logger, now: { clock.now })
        func warnings() -> [String] { logs.entries.filter { $0.level == .warning }.map { "\($0.message) \($0.metadata ?? [:])" } }
        await monitor.check()
        #expect(warnings().count == 1)
        #expect(warnings().first?.contains("github") == true && warnings().first?.contains("450") == true, "\(warnings())")
        clock.advance(30)
        await monitor.check()
        #expect(warnings().count == 1, "not again within a minute")
        clock.advance(31)
        await monitor.check()
        #expect(warnings().count == 2)
        try await http.shutdown()
    }
}
