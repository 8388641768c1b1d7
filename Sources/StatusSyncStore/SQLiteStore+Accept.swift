import Foundation
import GRDB
import StatusSyncCore

extension SQLiteStore {
    /// Records a call and decides its update atomically: idempotent replay, key reuse, stale,
    /// duplicate, or queued (superseding older queued updates of the same subject). Concurrent
    /// calls (and finished attempts) share one transaction (group commit); the result returns
    /// after that commit.
    public func accept(_ call: IncomingCall) async throws -> AcceptResult {
        guard let batcher else { throw StoreError(.cannotOpen, "the database at \(database.path) is open read-only") }
        guard case .accepted(let result) = try await batcher.submit(.accept(call)) else { preconditionFailure("an accept answered by another kind of write") }
        return result
    }

    static func accept(_ call: IncomingCall, in db: Database) throws -> AcceptResult {
        let at = Timestamp.ms(call.receivedAt)
        let request: StatusRequest
        switch call.request {
        case .failure(let error):
            return try reject(call, error: error, at: at, in: db)
        case .success(let r):
            request = r
        }

        // A PR whose head this workflow already pinned goes straight to that sha (and branch).
        var sha = request.sha
        var ref = request.ref
        if sha == nil, let pr = request.pr,
           let pinned = try Row.fetchOne(db.cachedStatement(sql: "SELECT sha, ref FROM pr_heads WHERE provider = ? AND repo = ? AND pr = ? AND workflow_uid = ?"),
                                         arguments: [request.provider, request.repo, pr, call.workflow.uid]) {
            sha = pinned["sha"]
            ref = ref ?? pinned["ref"]
        }
        let subject = Subject(provider: request.provider, repo: request.repo, context: request.context, sha: sha, pr: request.pr, workflowUID: call.workflow.uid)

        let idem = call.explicitIdempotencyKey
        if let first = try firstCall(call, idempotencyKey: idem, subject: subject, in: db) {
            let firstID: Int64 = first["id"]
            guard (first["body"] as String) == call.bodyCanonical else {
                return try reject(call, error: PluginBodyError("idempotency key reused with a different body: call \(firstID) used key \"\(call.explicitKey?.excerpt(80) ?? "")\" for another status; give each distinct status its own key"), at: at, in: db)
            }
            try db.cachedStatement(sql: "UPDATE calls SET repeats = repeats + 1, last_received_at = ? WHERE id = ?").execute(arguments: [at, firstID])
            let updateID: Int64? = first["update_id"]
            var reply = PluginReply(jsonText: first["reply"] as String? ?? "") ?? PluginReply(phase: .succeeded, message: "statussync: already recorded")
            if request.wait, let updateID, let current = try waitReply(updateID: updateID, in: db) {
                reply = current
            }
            return AcceptResult(callID: firstID, updateID: updateID, outcome: .repeated, reply: reply)
        }

        let (status, linked, queuedBefore) = try decide(request, subject: subject, workflowUID: call.workflow.uid, in: db)

        try db.cachedStatement(sql: """
            INSERT INTO updates (created_at, provider, repo, sha, pr, ref, context, state, description, target_url, comment,
                workflow_namespace, workflow_name, workflow_uid, wait, status, linked_id, next_attempt_at, age_from, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                at, request.provider, request.repo, sha, request.pr, ref, request.context, request.state.rawValue,
                request.description, request.targetURL, request.comment, call.workflow.namespace, call.workflow.name,
                call.workflow.uid, request.wait, status.rawValue, linked, status == .queued ? at : nil, at,
                status == .queued ? nil : at,
            ])
        let updateID = db.lastInsertedRowID
        if status == .queued && queuedBefore {
            let cond = subject.condition
            try db.cachedStatement(sql: """
                UPDATE updates SET status = 'superseded', linked_id = ?, next_attempt_at = NULL, finished_at = ?
                WHERE \(cond.sql) AND status = 'queued' AND id < ?
                """).execute(arguments: [updateID, at] + cond.arguments + [updateID])
        }

        let outcome = UpdateOutcome(id: updateID, status: status, state: request.state, repo: request.repo, sha: sha,
                                    pr: request.pr, context: request.context, attempts: 0, lastError: nil, linkedID: linked)
        var reply = PluginReply.accepted(outcome)
        if request.wait {
            let effective = try linked.flatMap { status == .duplicate ? try fetchOutcome(db, id: $0) : nil }
            reply = .waiting(outcome, effective: effective)
        }
        let callID = try insertCall(call, idempotencyKey: idem, reply: reply, error: nil, updateID: updateID, at: at, in: db)
        return AcceptResult(callID: callID, updateID: updateID, outcome: .accepted(status), reply: reply)
    }

    /// The first call this one repeats: by its explicit key, or (without a key) the call of the
    /// same workflow, template and body, whose update is necessarily in the same subject.
    static func firstCall(_ call: IncomingCall, idempotencyKey: String?, subject: Subject, in db: Database) throws -> Row? {
        if let idempotencyKey {
            return try Row.fetchOne(db.cachedStatement(sql: "SELECT id, body, reply, update_id FROM calls WHERE idem_key = ?"), arguments: [idempotencyKey])
        }
        // At most one call matches: a repeat is answered from the first call and adds no row.
        let cond = subject.condition(on: "u")
        return try Row.fetchOne(db.cachedStatement(sql: """
            SELECT c.id, c.body, c.reply, c.update_id FROM updates u JOIN calls c ON c.update_id = u.id
            WHERE \(cond.sql) AND u.workflow_uid = ?
              AND c.key IS NULL AND c.template_name = ? AND c.body = ? AND c.tenant IS ?
            LIMIT 1
            """), arguments: cond.arguments + [call.workflow.uid, call.templateName, call.bodyCanonical, call.tenant])
    }

    /// Stale (pending/running after this workflow's final state), duplicate (equal to the current
    /// update), or queued; and whether the current update is itself still queued (then it, and
    /// any older queued one, is superseded by the new one; otherwise there is nothing to supersede,
    /// and the claim would catch an older straggler anyway).
    static func decide(_ request: StatusRequest, subject: Subject, workflowUID: String, in db: Database) throws -> (DeliveryStatus, Int64?, Bool) {
        if !request.state.isTerminal {
            var match: [String] = []
            var args: StatementArguments = [workflowUID, request.provider, request.repo, request.context]
            if let sha = subject.sha {
                match.append("sha = ?")
                args += [sha]
            }
            if let pr = request.pr {
                match.append("pr = ?")
                args += [pr]
            }
            let terminal = try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT id FROM updates
                WHERE workflow_uid = ? AND provider = ? AND repo = ? AND context = ? AND (\(match.joined(separator: " OR ")))
                  AND state IN \(terminalStates)
                ORDER BY id DESC LIMIT 1
                """), arguments: args)
            if let terminal { return (.stale, terminal, false) }
        }
        let cond = subject.condition
        guard let current = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, status, state, description, target_url, comment FROM updates
            WHERE \(cond.sql) AND status IN \(liveStatuses) ORDER BY id DESC LIMIT 1
            """), arguments: cond.arguments) else { return (.queued, nil, false) }
        if (current["state"] as String) == request.state.rawValue,
           (current["description"] as String) == request.description,
           (current["target_url"] as String?) == request.targetURL,
           (current["comment"] as String?) == request.comment {
            return (.duplicate, current["id"], false)
        }
        return (.queued, nil, (current["status"] as String) == DeliveryStatus.queued.rawValue)
    }

    /// The wait-mode reply for an update's current state (following a duplicate to its original).
    static func waitReply(updateID: Int64, in db: Database) throws -> PluginReply? {
        guard let outcome = try fetchOutcome(db, id: updateID) else { return nil }
        var effective: UpdateOutcome? = nil
        if outcome.status == .duplicate, let linked = outcome.linkedID {
            effective = try fetchOutcome(db, id: linked)
        }
        return .waiting(outcome, effective: effective)
    }

    private static func reject(_ call: IncomingCall, error: PluginBodyError, at: Int64, in db: Database) throws -> AcceptResult {
        let reply = PluginReply.invalid(error)
        let id = try insertCall(call, idempotencyKey: nil, reply: reply, error: error.message, updateID: nil, at: at, in: db)
        return AcceptResult(callID: id, updateID: nil, outcome: .rejected, reply: reply)
    }

    private static func insertCall(_ call: IncomingCall, idempotencyKey: String?, reply: PluginReply, error: String?,
                                   updateID: Int64?, at: Int64, in db: Database) throws -> Int64 {
        try db.cachedStatement(sql: """
            INSERT INTO calls (received_at, workflow_namespace, workflow_name, workflow_uid, template_name, plugin_key,
                key, idem_key, body, args, reply, error, update_id, last_received_at, tenant)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                at, call.workflow.namespace, call.workflow.name, call.workflow.uid, call.templateName, call.pluginKey,
                call.explicitKey, idempotencyKey, call.bodyCanonical, call.argsText, reply.jsonText, error, updateID, at, call.tenant,
            ])
        return db.lastInsertedRowID
    }
}
