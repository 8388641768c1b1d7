import Foundation
import GRDB
import StatusSyncCore

extension SQLiteStore: RerunStore {
    public func recordRerun(_ request: RerunRequest, failure: String?) async throws -> RerunRecordResult {
        let at = Timestamp.ms(now())
        return try await database.writer.write { db in
            if let id = try Int64.fetchOne(db, sql: "SELECT id FROM reruns WHERE delivery_id = ?", arguments: [request.deliveryID]) {
                return .repeated(id: id)
            }
            guard let run = try Row.fetchOne(db, sql: """
                SELECT provider, repo, sha, context, workflow_uid, workflow_namespace, workflow_name, check_run_id FROM check_runs WHERE id = ?
                """, arguments: [request.recordID]),
                  (run["provider"] as String) == request.provider,
                  (run["repo"] as String).lowercased() == request.repo.lowercased()
            else { return .unknownRun }
            // A run whose GitHub id statussync knows must be that run.
            if let known: Int64 = run["check_run_id"], let given = request.checkRunID, known != given { return .unknownRun }
            // The request belongs to the newest update of that workflow's run: `show` of it lists it.
            guard let updateID = try Int64.fetchOne(db, sql: """
                SELECT id FROM updates INDEXED BY updates_subject
                WHERE provider = ? AND repo = ? AND sha = ? AND context = ? AND workflow_uid = ? AND report = 'check'
                ORDER BY id DESC LIMIT 1
                """, arguments: [run["provider"], run["repo"], run["sha"], run["context"], run["workflow_uid"]])
            else { return .unknownRun }
            let workflow = WorkflowRef(namespace: run["workflow_namespace"], name: run["workflow_name"], uid: run["workflow_uid"])
            try db.execute(sql: """
                INSERT INTO reruns (created_at, delivery_id, provider, check_run, update_id, action, sender, workflow_namespace, workflow_name,
                    status, next_attempt_at, last_error, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [at, request.deliveryID, request.provider, request.recordID, updateID, request.action, request.sender,
                                 workflow.namespace, workflow.name, failure == nil ? "queued" : "failed", failure == nil ? at : nil,
                                 failure, failure == nil ? nil : at])
            return .recorded(id: db.lastInsertedRowID, workflow: workflow)
        }
    }

    public func claimDueReruns(limit: Int) async throws -> (jobs: [RerunJob], nextDueAt: Date?) {
        let at = Timestamp.ms(now())
        return try await database.writer.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, provider, workflow_namespace, workflow_name, attempts, created_at FROM reruns INDEXED BY reruns_due
                WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?
                """, arguments: [at, limit])
            guard !rows.isEmpty else {
                let next = try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM reruns WHERE status = 'queued'")
                return ([], next.map(Timestamp.date))
            }
            var jobs: [RerunJob] = []
            for row in rows {
                let id: Int64 = row["id"]
                try db.execute(sql: "UPDATE reruns SET status = 'delivering', attempts = attempts + 1 WHERE id = ?", arguments: [id])
                var job = RerunJob(id: id, provider: row["provider"],
                                   workflow: WorkflowRef(namespace: row["workflow_namespace"], name: row["workflow_name"], uid: ""),
                                   attempts: (row["attempts"] as Int) + 1, createdAt: Timestamp.date(row["created_at"]))
                // A resubmit that got no answer, a 5xx (a proxy's, after the server may have
                // acted), or was cut by a stop may have made a workflow (docs/design.md#re-run).
                job.mayHaveResubmitted = try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM rerun_attempts WHERE rerun_id = ? AND operation = 'resubmit'
                        AND (error_class = 'interrupted' OR (error_class = 'transient' AND (http_status IS NULL OR http_status >= 500))))
                    """, arguments: [id]) ?? false
                if job.mayHaveResubmitted {
                    job.madeByOthers = Set(try String.fetchAll(db, sql: """
                        SELECT new_workflow FROM reruns WHERE workflow_namespace = ? AND workflow_name = ? AND id != ? AND new_workflow IS NOT NULL
                        """, arguments: [job.workflow.namespace, job.workflow.name, id]))
                }
                jobs.append(job)
            }
            return (jobs, nil)
        }
    }

    public func finishRerun(_ job: RerunJob, attempts: [AttemptRecord], decision: FinishDecision, newWorkflow: String?) async throws {
        let at = Timestamp.ms(now())
        try await database.writer.write { db in
            for attempt in attempts {
                let ms = attempt.duration.components.seconds * 1000 + attempt.duration.components.attoseconds / 1_000_000_000_000_000
                try db.execute(sql: """
                    INSERT INTO rerun_attempts (rerun_id, at, duration_ms, operation, http_status, error_class, error) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [job.id, Timestamp.ms(attempt.at), ms, attempt.operation.rawValue, attempt.httpStatus, attempt.errorClass, attempt.error])
            }
            switch decision {
            case .delivered:
                try db.execute(sql: """
                    UPDATE reruns SET status = 'delivered', finished_at = ?, next_attempt_at = NULL, last_error = NULL, new_workflow = ? WHERE id = ?
                    """, arguments: [at, newWorkflow, job.id])
            case .retry(let next, let counts, let error):
                try db.execute(sql: "UPDATE reruns SET status = 'queued', next_attempt_at = ?, last_error = ?, attempts = attempts - ? WHERE id = ?",
                               arguments: [Timestamp.ms(next), error, counts ? 0 : 1, job.id])
            case .giveUp(let status, let error):
                try db.execute(sql: "UPDATE reruns SET status = ?, last_error = ?, finished_at = ?, next_attempt_at = NULL WHERE id = ?",
                               arguments: [status == .dead ? "dead" : "failed", error, at, job.id])
            case .superseded(_, let error):
                try db.execute(sql: "UPDATE reruns SET status = 'failed', last_error = ?, finished_at = ?, next_attempt_at = NULL WHERE id = ?",
                               arguments: [error, at, job.id])
            }
        }
    }

    public func recoverInterruptedReruns() async throws -> Int {
        let at = Timestamp.ms(now())
        return try await database.writer.write { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM reruns INDEXED BY reruns_delivering WHERE status = 'delivering'")
            for id in ids {
                try db.execute(sql: """
                    INSERT INTO rerun_attempts (rerun_id, at, duration_ms, http_status, error_class, error)
                    VALUES (?, ?, 0, NULL, 'interrupted', 'statussync stopped while resubmitting; queued again at start-up')
                    """, arguments: [id, at])
                try db.execute(sql: "UPDATE reruns SET status = 'queued', next_attempt_at = ? WHERE id = ?", arguments: [at, id])
            }
            return ids.count
        }
    }

    /// The re-run requests recorded against an update, oldest first, with their tries.
    static func reruns(ofUpdate id: Int64, in db: Database) throws -> [RerunView] {
        try Row.fetchAll(db, sql: "SELECT * FROM reruns WHERE update_id = ? ORDER BY id", arguments: [id]).map { r in
            let rerunID: Int64 = r["id"]
            let tries = try Row.fetchAll(db, sql: "SELECT * FROM rerun_attempts WHERE rerun_id = ? ORDER BY id", arguments: [rerunID]).map { a in
                AttemptView(at: Timestamp.rfc3339(a["at"]), durationMs: a["duration_ms"], operation: a["operation"],
                            httpStatus: a["http_status"], errorClass: a["error_class"], error: a["error"])
            }
            return RerunView(id: rerunID, requestedAt: Timestamp.rfc3339(r["created_at"]), deliveryId: r["delivery_id"], action: r["action"],
                             sender: r["sender"], workflow: "\(r["workflow_namespace"] as String)/\(r["workflow_name"] as String)",
                             status: r["status"], attempts: r["attempts"], lastError: r["last_error"], newWorkflow: r["new_workflow"], tries: tries)
        }
    }
}
