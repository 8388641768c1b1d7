import Foundation
import GRDB
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

@Suite("Store: durability, idempotency, dedup, supersede, stale (docs/design.md#guarantees)")
struct StoreTests {
    @Test("The writer runs WAL with synchronous=FULL, and migrations are recorded")
    func durabilitySettings() async throws {
        let dir = try TempDirectory()
        let db = try AppDatabase.openForWriting(path: dir.path("s.sqlite"))
        let (sync, journal, version, rows) = try await db.writer.write { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try String.fetchOne(db, sql: "PRAGMA journal_mode"),
             try Int.fetchOne(db, sql: "PRAGMA user_version"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM schema_migrations"))
        }
        #expect(sync == 2)
        #expect(journal == "wal")
        #expect(version == AppDatabase.latestVersion)
        #expect(rows == EmbeddedMigrations.all.count)
        #expect(try db.migrate().isEmpty, "a second migrate applies nothing")
    }

    @Test("Read-only open refuses a missing or unmigrated database with a clear message")
    func readOnlyChecks() throws {
        let dir = try TempDirectory()
        #expect(throws: StoreError.self) { try AppDatabase.openReadOnly(path: dir.path("missing.sqlite")) }
        let raw = try DatabaseQueue(path: dir.path("empty.sqlite"))
        try raw.write { try $0.execute(sql: "CREATE TABLE t(x)") }
        do {
            _ = try AppDatabase.openReadOnly(path: dir.path("empty.sqlite"))
            Issue.record("expected notMigrated")
        } catch let e as StoreError {
            #expect(e.code == .notMigrated)
            #expect(e.message.contains("statussync migrate"))
        }
    }

    @Test("A valid call is committed with its update and reply; the same call again replays the stored reply")
    func idempotentReplay() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let first = try await store.accept(CallFactory.call(CallFactory.status("Running")))
        #expect(first.outcome == .accepted(.queued))
        #expect(first.reply.phase == .succeeded)
        #expect(first.reply.parameters.first { $0.name == "delivery" }?.value == "queued")
        let again = try await store.accept(CallFactory.call(CallFactory.status("Running")))
        #expect(again.outcome == .repeated)
        #expect(again.reply == first.reply)
        #expect(again.updateID == first.updateID)
        let history = try await store.history(HistoryFilter())
        #expect(history.count == 1, "no second update for the same call")
        let calls = try await store.calls(CallsFilter())
        #expect(calls.count == 1)
        #expect(calls.first?.repeats == 1)
    }

    @Test("Texts are stored exactly as given: empty workflow fields (Argo before v3.4.2) stay '' not NULL; non-ASCII text round-trips")
    func textsAsGiven() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let anonymous = WorkflowRef(namespace: "", name: "", uid: "")
        let call = CallFactory.call(CallFactory.status("Running", description: "Größe ✓ 👍"), workflow: anonymous)
        #expect(try await store.accept(call).outcome == .accepted(.queued))
        let update = try #require(try await store.history(HistoryFilter()).first)
        #expect(update.workflow == anonymous)
        #expect(update.description == "Größe ✓ 👍")
        let recorded = try #require(try await store.calls(CallsFilter()).first)
        #expect(recorded.workflow == anonymous)
        let nulls = try await store.database.reader.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM calls WHERE workflow_namespace IS NULL OR workflow_uid IS NULL OR args IS NULL")
        }
        #expect(nulls == 0)
        // And the same call again is found through those empty fields.
        #expect(try await store.accept(call).outcome == .repeated)
    }

    @Test("Same explicit key with a different body is Failed; with the same body it replays")
    func keyReuse() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let a = try await store.accept(CallFactory.call(CallFactory.status("Running", extra: ["key": "k1"])))
        #expect(a.outcome == .accepted(.queued))
        let b = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", extra: ["key": "k1"])))
        #expect(b.outcome == .rejected)
        #expect(b.reply.phase == .failed)
        #expect(b.reply.message.contains("idempotency key reused with a different body"))
        // A different template with the same key and body is still "the same call".
        let c = try await store.accept(CallFactory.call(CallFactory.status("Running", extra: ["key": "k1"]), template: "other"))
        #expect(c.outcome == .repeated)
        let rejected = try await store.calls({ var f = CallsFilter(); f.rejectedOnly = true; return f }())
        #expect(rejected.count == 1)
        #expect(rejected.first?.error?.contains("idempotency key") == true)
    }

    @Test("Without a key, another template name is a new call")
    func autoKeyIncludesTemplate() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        _ = try await store.accept(CallFactory.call(CallFactory.status("Running"), template: "a"))
        let b = try await store.accept(CallFactory.call(CallFactory.status("Running"), template: "b"))
        #expect(b.outcome == .accepted(.duplicate), "new call, but the same status as the current one")
    }

    @Test("Duplicate: equal state, description and targetURL as the current update is not sent; after failed it is")
    func duplicate() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let other = WorkflowRef(namespace: "ci", name: "other", uid: "uid-2")
        let link = ["targetURL": "https://ci.example.com/run/1"]
        let a = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", description: "ok", extra: link)))
        let b = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", description: "ok", extra: link), workflow: other))
        #expect(b.outcome == .accepted(.duplicate))
        #expect(b.reply.parameters.last?.value == "duplicate")
        let bView = try #require(try await store.detail(id: b.updateID!))
        #expect(bView.update.delivery.linkedUpdateId == a.updateID)
        // Another description is not a duplicate.
        let c = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", description: "ok, again", extra: link), workflow: other, template: "t2"))
        #expect(c.outcome == .accepted(.queued))

        // After the current update failed, an identical one is sent again.
        let jobs = try await store.claimDue(limit: 10).jobs
        #expect(jobs.map(\.id) == [c.updateID!])
        try await store.finish(jobs[0], attempt: nil, decision: .giveUp(.failed, error: "422"))
        let d = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", description: "ok, again", extra: link), workflow: other, template: "t3"))
        #expect(d.outcome == .accepted(.queued), "the identical update is sent again after the failed one")
    }

    @Test("Superseded: a newer update replaces an older one not yet sent; the older is never claimed")
    func superseded() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let older = try await store.accept(CallFactory.call(CallFactory.status("Running")))
        let newer = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
        #expect(newer.outcome == .accepted(.queued))
        let o = try #require(try await store.detail(id: older.updateID!))
        #expect(o.update.delivery.status == .superseded)
        #expect(o.update.delivery.linkedUpdateId == newer.updateID)
        let jobs = try await store.claimDue(limit: 10).jobs
        #expect(jobs.map(\.id) == [newer.updateID!])
    }

    @Test("In flight: a newer update waits; the older becomes superseded if its call fails, stays delivered if it succeeds")
    func inFlightOrder() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let a = try await store.accept(CallFactory.call(CallFactory.status("Running")))
        let claimed = try await store.claimDue(limit: 10).jobs
        #expect(claimed.map(\.id) == [a.updateID!])
        let b = try await store.accept(CallFactory.call(CallFactory.status("Failed")))
        #expect(b.outcome == .accepted(.queued))
        #expect(try await store.claimDue(limit: 10).jobs.isEmpty, "one call in flight per subject")
        let status = try await store.finish(claimed[0], attempt: nil, decision: .retry(at: Date(), countsAttempt: true, error: "502"))
        #expect(status == .superseded)
        #expect(try await store.claimDue(limit: 10).jobs.map(\.id) == [b.updateID!])

        // Success of an in-flight older one: delivered, and the newer is still sent after it.
        let c = try await store.accept(CallFactory.call(CallFactory.status("Running", context: "other")))
        let cJob = try await store.claimDue(limit: 10).jobs
        #expect(cJob.map(\.id) == [c.updateID!])
        let d = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "other")))
        #expect(try await store.finish(cJob[0], attempt: nil, decision: .delivered) == .delivered)
        #expect(try await store.claimDue(limit: 10).jobs.map(\.id) == [d.updateID!])
    }

    @Test("Stale: pending/running after the workflow's final state for the context is not sent")
    func stale() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let final = try await store.accept(CallFactory.call(CallFactory.status("Failed")))
        let late = try await store.accept(CallFactory.call(CallFactory.status("Running"), template: "started"))
        #expect(late.outcome == .accepted(.stale))
        #expect(late.reply.phase == .succeeded)
        #expect(late.reply.parameters.last?.value == "stale")
        let view = try #require(try await store.detail(id: late.updateID!))
        #expect(view.update.delivery.linkedUpdateId == final.updateID)
        // Another workflow's running status is not stale.
        let other = try await store.accept(CallFactory.call(CallFactory.status("Running"), workflow: WorkflowRef(namespace: "ci", name: "w2", uid: "uid-w2")))
        #expect(other.outcome == .accepted(.queued))
        // A terminal state after a terminal state is not stale (argo retry re-fires the exit hook).
        let again = try await store.accept(CallFactory.call(CallFactory.status("Succeeded"), template: "exit-again"))
        #expect(again.outcome == .accepted(.queued))
    }

    @Test("An invalid body is recorded with its error and gets a Failed reply")
    func rejectedRecorded() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let r = try await store.accept(CallFactory.call(["repo": "my-org/app", "state": "Running"]))
        #expect(r.outcome == .rejected)
        #expect(r.reply.message.hasPrefix("statussync: missing sha or pr"))
        let calls = try await store.calls(CallsFilter())
        #expect(calls.count == 1)
        #expect(calls[0].error == "missing sha or pr: set sha to the commit (e.g. \"{{workflow.parameters.revision}}\") or pr to the pull request number")
        #expect(calls[0].updateId == nil)
        #expect(try await store.history(HistoryFilter()).isEmpty)
    }

    @Test("A claim reports when the next retry is due, so the loop sleeps exactly that long")
    func nextDue() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        _ = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
        let first = try await store.claimDue(limit: 5)
        #expect(first.nextDueAt == nil)
        let retryAt = Date().addingTimeInterval(30)
        #expect(try await store.finish(first.jobs[0], attempt: nil, decision: .retry(at: retryAt, countsAttempt: true, error: "503")) == .queued)
        let second = try await store.claimDue(limit: 5)
        #expect(second.jobs.isEmpty)
        #expect(abs((second.nextDueAt ?? .distantPast).timeIntervalSince(retryAt)) < 0.01)
    }

    @Test("Crash recovery: updates left delivering are queued again with an interrupted attempt")
    func recovery() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let a = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
        let jobs = try await store.claimDue(limit: 1).jobs
        #expect(jobs.count == 1)
        // Simulate the crash: reopen the file with a new store; the row is still delivering.
        let reopened = SQLiteStore(database: try AppDatabase.openForWriting(path: dir.path("statussync.sqlite")))
        #expect(try await reopened.recoverInterrupted() == 1)
        let detail = try #require(try await reopened.detail(id: a.updateID!))
        #expect(detail.update.delivery.status == .queued)
        #expect(detail.attempts.map(\.errorClass) == ["interrupted"])
        #expect(try await reopened.claimDue(limit: 1).jobs.map(\.id) == [a.updateID!])
    }

    @Test("Crash recovery never sends an older update after a newer one: the interrupted one is superseded")
    func recoveryKeepsOrder() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let older = try await store.accept(CallFactory.call(CallFactory.status("Running")))
        #expect(try await store.claimDue(limit: 1).jobs.map(\.id) == [older.updateID!])
        let newer = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
        // Crash: the older one is still delivering, the newer one queued.
        let reopened = SQLiteStore(database: try AppDatabase.openForWriting(path: dir.path("statussync.sqlite")))
        #expect(try await reopened.recoverInterrupted() == 1)
        #expect(try await reopened.detail(id: older.updateID!)?.update.delivery.status == .superseded)
        #expect(try await reopened.claimDue(limit: 5).jobs.map(\.id) == [newer.updateID!])
    }

    @Test("PR updates: decided per workflow until pinned; later calls of the workflow use the pinned sha")
    func prPinning() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let w1 = WorkflowRef(namespace: "ci", name: "w1", uid: "uid-1")
        let head = "1111111111111111111111111111111111111111"
        let pr = try await store.accept(CallFactory.call(["repo": "my-org/app", "pr": "12", "state": "Running", "context": "ci/argo"], workflow: w1))
        #expect(pr.outcome == .accepted(.queued))
        let claimed = try await store.claimDue(limit: 5).jobs
        #expect(claimed.map(\.id) == [pr.updateID!])
        #expect(claimed[0].sha == nil)
        let result = try await store.pin(claimed[0], head: PullRequestHead(sha: head, sourceBranch: "feature/x"), attempt: nil)
        guard case .send(let job) = result else { Issue.record("expected send, got \(result)"); return }
        #expect(job.sha == head)
        #expect(job.ref == "feature/x", "the PR's source branch becomes the ref")
        #expect(try await store.pinnedHead(provider: "github", repo: "my-org/app", pr: 12, workflowUID: "uid-1")?.sha == head)

        // A later call of the same workflow goes straight to the pinned sha, even if the PR moved.
        let later = try await store.accept(CallFactory.call(["repo": "my-org/app", "pr": "12", "state": "Failed", "context": "ci/argo"], workflow: w1))
        #expect(try await store.detail(id: later.updateID!)?.update.sha == head)
        #expect(try await store.detail(id: later.updateID!)?.update.ref == "feature/x")
        // Another workflow on the same PR is not pinned by w1's lookup.
        let w2 = try await store.accept(CallFactory.call(["repo": "my-org/app", "pr": "12", "state": "Running", "context": "ci/argo"], workflow: WorkflowRef(namespace: "ci", name: "w2", uid: "uid-2")))
        #expect(try await store.detail(id: w2.updateID!)?.update.sha == nil)
    }

    @Test("Pinning onto a sha whose current update is equal makes the PR update a duplicate")
    func pinningDedups() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let w0 = WorkflowRef(namespace: "ci", name: "w", uid: "uid-0")
        let w1 = WorkflowRef(namespace: "ci", name: "w", uid: "uid-1")
        _ = try await store.accept(CallFactory.call(CallFactory.status("Succeeded"), workflow: w0))
        let first = try await store.claimDue(limit: 5).jobs
        try await store.finish(first[0], attempt: nil, decision: .delivered)
        let pr = try await store.accept(CallFactory.call(["repo": "my-org/app", "pr": "5", "state": "Succeeded", "context": "ci/argo"], workflow: w1))
        let claimed = try await store.claimDue(limit: 5).jobs
        #expect(claimed.map(\.id) == [pr.updateID!])
        let result = try await store.pin(claimed[0], head: PullRequestHead(sha: CallFactory.sha, sourceBranch: nil), attempt: nil)
        #expect(result == .notSent(.duplicate))
    }

    @Test("Wait mode: Running + requeue until delivered, then Succeeded; Failed with the reason when given up; duplicates and stale answer at once")
    func waitMode() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let call = CallFactory.call(CallFactory.status("Succeeded", extra: ["wait": "true"]))
        let first = try await store.accept(call)
        #expect(first.reply.phase == .running)
        #expect(first.reply.requeue == "10s")
        let polled = try await store.accept(call)
        #expect(polled.outcome == .repeated)
        #expect(polled.reply.phase == .running, "the agent's requeue poll sees the current state")
        let jobs = try await store.claimDue(limit: 5).jobs
        try await store.finish(jobs[0], attempt: nil, decision: .delivered)
        let done = try await store.accept(call)
        #expect(done.reply.phase == .succeeded)
        #expect(done.reply.requeue == nil)
        #expect(done.reply.parameters.last?.value == "delivered")

        // Another workflow asking for the same status duplicates the delivered one: Succeeded at once.
        let dup = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", extra: ["wait": "true"]), workflow: CallFactory.workflow, template: "again"))
        #expect(dup.outcome == .accepted(.duplicate))
        #expect(dup.reply.phase == .succeeded)

        // Stale answers Succeeded at once.
        let stale = try await store.accept(CallFactory.call(CallFactory.status("Running", extra: ["wait": "true"]), template: "late"))
        #expect(stale.outcome == .accepted(.stale))
        #expect(stale.reply.phase == .succeeded)

        // Given up: Failed with the provider's reason, no requeue.
        let failing = CallFactory.call(CallFactory.status("Failed", context: "other", extra: ["wait": "true"]))
        _ = try await store.accept(failing)
        let job = try await store.claimDue(limit: 5).jobs
        try await store.finish(job[0], attempt: nil, decision: .giveUp(.failed, error: "No commit found for SHA: 6dcb09b"))
        let failed = try await store.accept(failing)
        #expect(failed.reply.phase == .failed)
        #expect(failed.reply.requeue == nil)
        #expect(failed.reply.message.contains("No commit found for SHA"))

        // Superseded while waiting: Succeeded, naming the newer update.
        let older = CallFactory.call(CallFactory.status("Pending", context: "third", extra: ["wait": "true"]))
        _ = try await store.accept(older)
        let newer = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "third")))
        let replaced = try await store.accept(older)
        #expect(replaced.reply.phase == .succeeded)
        #expect(replaced.reply.message.contains("superseded by update \(newer.updateID!)"))
    }
}
