import Foundation
import GRDB
import StatusSyncCore

extension SQLiteStore: DeliveryStore {
    public func recoverInterrupted() async throws -> Int {
        let at = Timestamp.ms(now())
        return try await database.writer.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM updates WHERE status = 'delivering'")
            for row in rows {
                let id: Int64 = row["id"]
                try db.execute(sql: """
                    INSERT INTO attempts (update_id, at, duration_ms, operation, http_status, error_class, error)
                    VALUES (?, ?, 0, 'recovery', NULL, 'interrupted', 'statussync stopped while this update was being delivered; queued again at start-up')
                    """, arguments: [id, at])
                // A newer update of the subject was accepted meanwhile: it is the one to send.
                if let newer = try Self.newerLiveUpdate(than: Self.job(row), in: db) {
                    try Self.supersede(id, by: newer, error: "interrupted by a stop; a newer update replaces it", at: at, in: db)
                } else {
                    try db.execute(sql: "UPDATE updates SET status = 'queued', next_attempt_at = ? WHERE id = ?", arguments: [at, id])
                }
            }
            return rows.count
        }
    }

    public func claimDue(limit: Int, budgets: [ClaimBudget], maxDeferral: ConfigDuration) async throws -> ClaimBatch {
        let at = Timestamp.ms(now())
        let overdueBefore = at - maxDeferral.milliseconds
        return try await database.writer.write { db in
            let inFlight = try Row.fetchAll(db, sql: "SELECT provider, repo, sha, pr, workflow_uid, context FROM updates WHERE status = 'delivering'")
            var busySubjects = Set(inFlight.map(Subject.init(row:)))
            var busyPins = Set(inFlight.filter { ($0["sha"] as String?) == nil }.map(PinKey.init(row:)))
            var chosen: [DeliveryJob] = []
            var stale: [(id: Int64, newer: Int64, error: String)] = []
            var waitingForBudget: Set<String> = []
            for budget in budgets where chosen.count < limit {
                let wanted = min(limit - chosen.count, budget.calls ?? Int.max)
                var due = try DueUpdates(provider: budget.provider, at: at, overdueBefore: overdueBefore, in: db)
                var taken = 0
                // Rows skipped (subject busy, superseded) are few; the cap bounds a claim's work anyway.
                var scanned = 0
                while scanned < max(wanted, 1) * 20 + 50, let row = try due.next() {
                    guard taken < wanted else {
                        waitingForBudget.insert(budget.provider)
                        break
                    }
                    scanned += 1
                    let subject = Subject(row: row)
                    guard !busySubjects.contains(subject) else { continue }
                    let job = Self.job(row)
                    // Never send an update older than another live one of its subject (the provider
                    // must end with the newest): such a row is superseded instead.
                    if let newer = try Self.newerLiveUpdate(than: job, in: db) {
                        stale.append((job.id, newer, (row["last_error"] as String?) ?? "a newer update replaces it"))
                        continue
                    }
                    if job.sha == nil {
                        guard busyPins.insert(PinKey(row: row)).inserted else { continue }
                    }
                    busySubjects.insert(subject)
                    var claimed = job
                    claimed.attempts += 1  // as the UPDATE below records it
                    chosen.append(claimed)
                    taken += 1
                }
            }
            for s in stale { try Self.supersede(s.id, by: s.newer, error: s.error, at: at, in: db) }
            guard !chosen.isEmpty else {
                // Nothing to send now: say when the next retry is due, so the loop sleeps until then.
                let next = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MIN(next_attempt_at) FROM updates WHERE status = 'queued' AND next_attempt_at > ?"),
                                              arguments: [at]).map(Timestamp.date)
                return ClaimBatch(jobs: [], nextDueAt: next, waitingForBudget: waitingForBudget)
            }
            let ids = chosen.map(\.id)
            try db.execute(sql: """
                UPDATE updates SET status = 'delivering', attempts = attempts + 1, next_attempt_at = NULL
                WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                """, arguments: StatementArguments(ids))
            return ClaimBatch(jobs: chosen, nextDueAt: nil, waitingForBudget: waitingForBudget)
        }
    }

    public func failUnconfigured(providers: [String]) async throws -> Int {
        let at = Timestamp.ms(now())
        return try await database.writer.write { db in
            let names = providers.isEmpty ? "''" : providers.map { _ in "?" }.joined(separator: ",")
            try db.execute(sql: """
                UPDATE updates SET status = 'failed', finished_at = ?, next_attempt_at = NULL,
                    last_error = 'provider ' || provider || ' is not configured on this server; add it back to providers: and run statussync retry ' || id
                WHERE status = 'queued' AND provider NOT IN (\(names))
                """, arguments: StatementArguments([at] + providers))
            return db.changesCount
        }
    }

    public func pinnedHead(provider: String, repo: String, pr: Int, workflowUID: String) async throws -> PullRequestHead? {
        try await database.reader.read { db in
            try Row.fetchOne(db, sql: "SELECT sha, ref FROM pr_heads WHERE provider = ? AND repo = ? AND pr = ? AND workflow_uid = ?",
                             arguments: [provider, repo, pr, workflowUID]).map { PullRequestHead(sha: $0["sha"], sourceBranch: $0["ref"]) }
        }
    }

    public func pin(_ job: DeliveryJob, head: PullRequestHead, attempt: AttemptRecord?) async throws -> PinResult {
        let sha = head.sha
        guard let pr = job.pr else { return .send(job) }
        let at = Timestamp.ms(now())
        return try await database.writer.write { db in
            if let attempt { try Self.insertAttempt(attempt, updateID: job.id, in: db) }
            try db.execute(sql: "INSERT OR IGNORE INTO pr_heads (provider, repo, pr, workflow_uid, sha, ref, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [job.provider, job.repo, pr, job.workflow.uid, sha.lowercased(), head.sourceBranch, at])
            let pinnedRow = try Row.fetchOne(db, sql: "SELECT sha, ref FROM pr_heads WHERE provider = ? AND repo = ? AND pr = ? AND workflow_uid = ?",
                                             arguments: [job.provider, job.repo, pr, job.workflow.uid])
            let pinned: String = pinnedRow?["sha"] ?? sha.lowercased()
            let pinnedRef: String? = pinnedRow?["ref"]
            let workflowRows = "provider = ? AND repo = ? AND pr = ? AND workflow_uid = ? AND sha IS NULL"
            let workflowArgs: StatementArguments = [job.provider, job.repo, pr, job.workflow.uid]
            let contexts = try String.fetchAll(db, sql: "SELECT DISTINCT context FROM updates WHERE \(workflowRows)", arguments: workflowArgs)
            try db.execute(sql: "UPDATE updates SET sha = ?, ref = COALESCE(ref, ?) WHERE \(workflowRows)", arguments: [pinned, pinnedRef] + workflowArgs)
            for context in contexts {
                let subject = Subject(provider: job.provider, repo: job.repo, context: context, sha: pinned, pr: pr, workflowUID: job.workflow.uid)
                try Self.reconcile(subject, claimedID: job.id, at: at, in: db)
            }
            let status = try String.fetchOne(db, sql: "SELECT status FROM updates WHERE id = ?", arguments: [job.id]).flatMap(DeliveryStatus.init(rawValue:))
            guard status == .delivering else { return .notSent(status ?? .superseded) }
            let subject = Subject(provider: job.provider, repo: job.repo, context: job.context, sha: pinned, pr: pr, workflowUID: job.workflow.uid)
            let cond = subject.condition
            let othersInFlight = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM updates WHERE \(cond.sql) AND status = 'delivering' AND id != ?",
                                                  arguments: cond.arguments + [job.id]) ?? 0
            if othersInFlight > 0 {
                try db.execute(sql: "UPDATE updates SET status = 'queued', next_attempt_at = ?, attempts = MAX(attempts - 1, 0) WHERE id = ?",
                               arguments: [at, job.id])
                return .busy
            }
            var pinnedJob = job
            pinnedJob.sha = pinned
            pinnedJob.ref = job.ref ?? pinnedRef
            return .send(pinnedJob)
        }
    }

    /// After updates joined a subject (their PR head was pinned): only the newest live update may
    /// still be sent; older queued ones (and the claimed one, not yet sent) are superseded; the
    /// newest is a duplicate when it equals the update delivered or in flight before it.
    static func reconcile(_ subject: Subject, claimedID: Int64, at: Int64, in db: Database) throws {
        let cond = subject.condition
        let rows = try Row.fetchAll(db, sql: """
            SELECT id, status, state, description, target_url, comment, report, workflow_uid FROM updates
            WHERE \(cond.sql) AND \(liveStatusSQL) ORDER BY id
            """, arguments: cond.arguments)
        guard let newest = rows.last else { return }
        func unsent(_ row: Row) -> Bool {
            let status: String = row["status"]
            return status == "queued" || (status == "delivering" && (row["id"] as Int64) == claimedID)
        }
        for row in rows.dropLast() where unsent(row) {
            try db.execute(sql: "UPDATE updates SET status = 'superseded', linked_id = ?, next_attempt_at = NULL, finished_at = ? WHERE id = ?",
                           arguments: [newest["id"] as Int64, at, row["id"] as Int64])
        }
        guard unsent(newest), let previous = rows.dropLast().last(where: { !unsent($0) }) else { return }
        let same = (previous["state"] as String) == (newest["state"] as String)
            && (previous["description"] as String) == (newest["description"] as String)
            && (previous["target_url"] as String?) == (newest["target_url"] as String?)
            && (previous["comment"] as String?) == (newest["comment"] as String?)
            && (previous["report"] as String) == (newest["report"] as String)
            // Each workflow has its own check run: another workflow's update is no duplicate of it.
            && ((newest["report"] as String) == ReportKind.status.rawValue || (previous["workflow_uid"] as String) == (newest["workflow_uid"] as String))
        if same {
            try db.execute(sql: "UPDATE updates SET status = 'duplicate', linked_id = ?, next_attempt_at = NULL, finished_at = ? WHERE id = ?",
                           arguments: [previous["id"] as Int64, at, newest["id"] as Int64])
        }
    }

    @discardableResult
    public func finish(_ job: DeliveryJob, attempts: [AttemptRecord], decision: FinishDecision) async throws -> DeliveryStatus {
        try await finish(job, attempts: attempts, decision: decision, checkRuns: [])
    }

    @discardableResult
    public func finish(_ job: DeliveryJob, attempts: [AttemptRecord], decision: FinishDecision, checkRuns: [CheckRunChange]) async throws -> DeliveryStatus {
        guard let batcher else { throw StoreError(.cannotOpen, "the database at \(database.path) is open read-only") }
        let request = FinishRequest(job: job, attempts: attempts, decision: decision, at: Timestamp.ms(now()), checkRuns: checkRuns)
        guard case .finished(let status) = try await batcher.submit(.finish(request)) else { preconditionFailure("a finish answered by another kind of write") }
        return status
    }

    /// One finished attempt, recorded by group commit like accepted calls.
    struct FinishRequest: Sendable {
        var job: DeliveryJob
        var attempts: [AttemptRecord]
        var decision: FinishDecision
        var at: Int64
        var checkRuns: [CheckRunChange] = []
    }

    public func prepareCheckRun(_ job: DeliveryJob) async throws -> CheckRunPlan {
        guard let sha = job.sha else { throw StoreError(.cannotOpen, "update \(job.id) has no commit to attach a check run to") }
        let at = Timestamp.ms(now())
        return try await database.writer.write { db in
            let key: StatementArguments = [job.provider, job.repo, sha, job.context, job.workflow.uid]
            try db.execute(sql: """
                INSERT OR IGNORE INTO check_runs (created_at, provider, repo, sha, context, workflow_uid, workflow_namespace, workflow_name, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [at] + key + [job.workflow.namespace, job.workflow.name, at])
            let fresh = db.changesCount == 1
            guard let row = try Row.fetchOne(db, sql: """
                SELECT id, check_run_id, superseded_by FROM check_runs
                WHERE provider = ? AND repo = ? AND sha = ? AND context = ? AND workflow_uid = ?
                """, arguments: key) else { throw StoreError(.cannotOpen, "the check run record of update \(job.id) vanished") }
            let recordID: Int64 = row["id"]
            let started = try Int64.fetchOne(db, sql: """
                SELECT MIN(created_at) FROM updates INDEXED BY updates_subject
                WHERE provider = ? AND repo = ? AND sha = ? AND context = ? AND workflow_uid = ? AND state = 'running'
                """, arguments: key)
            let older = try Row.fetchAll(db, sql: """
                SELECT id, check_run_id, workflow_namespace, workflow_name, workflow_uid FROM check_runs INDEXED BY check_runs_run
                WHERE provider = ? AND repo = ? AND sha = ? AND context = ? AND workflow_uid != ? AND id < ?
                    AND (status IS NULL OR status != 'completed') AND superseded_by IS NULL
                ORDER BY id
                """, arguments: key + [recordID]).map { r in
                    CheckRunPlan.OlderRun(recordID: r["id"], checkRunID: r["check_run_id"],
                                          workflow: WorkflowRef(namespace: r["workflow_namespace"], name: r["workflow_name"], uid: r["workflow_uid"]))
                }
            var plan = CheckRunPlan(recordID: recordID, checkRunID: row["check_run_id"], fresh: fresh, supersededBy: row["superseded_by"],
                                    startedAt: started.map(Timestamp.date), older: older)
            // The page's text comes from the call that made the update, validated when it was accepted.
            if let body = try String.fetchOne(db, sql: "SELECT body FROM calls WHERE update_id = ? ORDER BY id LIMIT 1", arguments: [job.id]),
               let json = try? JSONValue.parse(Data(body.utf8)) {
                plan.page = (try? CheckPageInput.parse(json)) ?? CheckPageInput()
            }
            return plan
        }
    }

    static func finish(_ request: FinishRequest, in db: Database) throws -> DeliveryStatus {
        let (job, decision, at) = (request.job, request.decision, request.at)
        for attempt in request.attempts { try Self.insertAttempt(attempt, updateID: job.id, in: db) }
        for change in request.checkRuns {
            try db.cachedStatement(sql: """
                UPDATE check_runs SET check_run_id = COALESCE(?, check_run_id), status = COALESCE(?, status), conclusion = COALESCE(?, conclusion),
                    superseded_by = COALESCE(?, superseded_by), updated_at = ?
                WHERE id = ?
                """).execute(arguments: [change.checkRunID, change.status, change.conclusion, change.supersededBy, at, change.recordID])
        }
        switch decision {
        case .delivered:
            try db.cachedStatement(sql: """
                UPDATE updates SET status = 'delivered', delivered_at = ?, finished_at = ?, next_attempt_at = NULL, last_error = NULL
                WHERE id = ?
                """).execute(arguments: [at, at, job.id])
            return .delivered
        case .retry(let next, let counts, let error):
            if let newer = try Self.newerLiveUpdate(than: job, in: db) {
                try Self.supersede(job.id, by: newer, error: error, at: at, in: db)
                return .superseded
            }
            try db.cachedStatement(sql: """
                UPDATE updates SET status = 'queued', next_attempt_at = ?, last_error = ?, attempts = attempts - ?
                WHERE id = ?
                """).execute(arguments: [Timestamp.ms(next), error, counts ? 0 : 1, job.id])
            return .queued
        case .superseded(let newer, let error):
            try Self.supersede(job.id, by: newer, error: error, at: at, in: db)
            return .superseded
        case .giveUp(let status, let error):
            if let newer = try Self.newerLiveUpdate(than: job, in: db) {
                try Self.supersede(job.id, by: newer, error: error, at: at, in: db)
                return .superseded
            }
            try db.execute(sql: "UPDATE updates SET status = ?, last_error = ?, finished_at = ?, next_attempt_at = NULL WHERE id = ?",
                           arguments: [status.rawValue, error, at, job.id])
            return status
        }
    }

    /// A newer update of the job's subject that will itself be (or was) sent. Duplicates of the
    /// job do not count: they rely on the job being delivered.
    static func newerLiveUpdate(than job: DeliveryJob, in db: Database) throws -> Int64? {
        let subject = Subject(provider: job.provider, repo: job.repo, context: job.context, sha: job.sha, pr: job.pr, workflowUID: job.workflow.uid)
        let cond = subject.condition
        return try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(id) FROM updates WHERE \(cond.sql) AND id > ? AND \(liveStatusSQL)"),
                                  arguments: cond.arguments + [job.id])
    }

    static func insertAttempt(_ attempt: AttemptRecord, updateID: Int64, in db: Database) throws {
        let ms = attempt.duration.components.seconds * 1000 + attempt.duration.components.attoseconds / 1_000_000_000_000_000
        try db.cachedStatement(sql: """
            INSERT INTO attempts (update_id, at, duration_ms, operation, http_status, error_class, error)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [updateID, Timestamp.ms(attempt.at), ms, attempt.operation.rawValue, attempt.httpStatus,
                             attempt.errorClass, attempt.error])
    }

    static func supersede(_ id: Int64, by newer: Int64, error: String, at: Int64, in db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE updates SET status = 'superseded', linked_id = ?, last_error = ?, finished_at = ?, next_attempt_at = NULL
            WHERE id = ?
            """).execute(arguments: [newer, error, at, id])
    }

    static func job(_ row: Row) -> DeliveryJob {
        DeliveryJob(
            id: row["id"], provider: row["provider"], repo: row["repo"], sha: row["sha"], pr: row["pr"], ref: row["ref"],
            context: row["context"], state: NeutralState(rawValue: row["state"]) ?? .pending, description: row["description"],
            targetURL: row["target_url"], comment: row["comment"],
            workflow: WorkflowRef(namespace: row["workflow_namespace"], name: row["workflow_name"], uid: row["workflow_uid"]),
            attempts: row["attempts"], createdAt: Timestamp.date(row["created_at"]), ageFrom: Timestamp.date(row["age_from"]),
            report: (row["report"] as String?).flatMap(ReportKind.init(rawValue:)) ?? .status
        )
    }
}

/// A workflow's PR whose head is resolved once.
struct PinKey: Hashable {
    var provider: String
    var repo: String
    var pr: Int?
    var workflowUID: String

    init(row: Row) {
        provider = row["provider"]
        repo = row["repo"]
        pr = row["pr"]
        workflowUID = row["workflow_uid"]
    }
}
