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
        if sha == nil, let pr = request.pr {
            try db.cachedStatement(sql: AcceptSQL.pinnedHead).run([.text(request.provider), .text(request.repo), SQLArgument(pr), .text(call.workflow.uid)]) { row in
                sha = row.text(0)
                ref = ref ?? row.text(1)
                return false
            }
        }
        let subject = Subject(provider: request.provider, repo: request.repo, context: request.context, sha: sha, pr: request.pr, workflowUID: call.workflow.uid)

        // One pass over the subject's updates answers the repeat (without `key`), stale and duplicate
        // questions together; a call with `key` is looked up by its key first.
        let idem = call.explicitIdempotencyKey
        var scan: SubjectScan?
        var first: FirstCall?
        if let idem {
            first = try callByKey(idem, in: db)
        } else {
            scan = try scanSubject(subject, call: call, in: db)
            first = scan?.repeatOf
        }
        if let first {
            guard first.body == call.bodyCanonical else {
                return try reject(call, error: PluginBodyError("idempotency key reused with a different body: call \(first.id) used key \"\(call.explicitKey?.excerpt(80) ?? "")\" for another status; give each distinct status its own key"), at: at, in: db)
            }
            try db.cachedStatement(sql: AcceptSQL.countRepeat).run([.integer(at), .integer(first.id)])
            var reply = first.reply.flatMap(PluginReply.init(jsonText:)) ?? PluginReply(phase: .succeeded, message: "statussync: already recorded")
            if request.wait, let updateID = first.updateID, let current = try waitReply(updateID: updateID, in: db) {
                reply = current
            }
            return AcceptResult(callID: first.id, updateID: first.updateID, outcome: .repeated, reply: reply)
        }
        let subjectScan = try scan ?? scanSubject(subject, call: call, in: db)

        let decision = try decide(request, scan: subjectScan, workflowUID: call.workflow.uid, in: db)
        let (status, linked) = (decision.status, decision.linked)

        try db.cachedStatement(sql: AcceptSQL.insertUpdate).run([
            .integer(at), .text(request.provider), .text(request.repo), SQLArgument(sha), SQLArgument(request.pr), SQLArgument(ref),
            .text(request.context), .text(request.state.rawValue), .text(request.description), SQLArgument(request.targetURL),
            SQLArgument(request.comment), .text(call.workflow.namespace), .text(call.workflow.name), .text(call.workflow.uid),
            SQLArgument(request.wait), .text(status.rawValue), SQLArgument(linked), status == .queued ? .integer(at) : .null,
            .integer(at), status == .queued ? .null : .integer(at), .text(request.report.rawValue),
        ])
        let updateID = db.lastInsertedRowID
        if decision.supersedesQueued {
            // By id, as the scan found them: an UPDATE of these columns that searched the subject
            // would first collect the rows in a temporary b-tree.
            let supersede = try db.cachedStatement(sql: AcceptSQL.supersede)
            for id in subjectScan.queued {
                try supersede.run([.integer(updateID), .integer(at), .integer(id)])
            }
        }

        let outcome = UpdateOutcome(id: updateID, status: status, state: request.state, repo: request.repo, sha: sha,
                                    pr: request.pr, context: request.context, attempts: 0, lastError: nil, linkedID: linked)
        var reply = PluginReply.accepted(outcome)
        if request.wait {
            let effective = try linked.flatMap { status == .duplicate ? try fetchOutcome(db, id: $0) : nil }
            reply = .waiting(outcome, effective: effective)
        }
        let replyJSON = reply.jsonText
        let callID = try insertCall(call, idempotencyKey: idem, replyJSON: replyJSON, error: nil, updateID: updateID, at: at, in: db)
        return AcceptResult(callID: callID, updateID: updateID, outcome: .accepted(status), reply: reply, replyJSON: replyJSON)
    }

    /// The call a new one repeats.
    struct FirstCall {
        var id: Int64
        var body: String
        var reply: String?
        var updateID: Int64?
    }

    /// What the accept decision needs to know about the subject's updates.
    struct SubjectScan {
        /// The call this one repeats: same workflow, template and body, no `key` (whose update is
        /// necessarily in the same subject). At most one call matches: a repeat adds no row.
        var repeatOf: FirstCall?
        /// This workflow's latest final update in the subject.
        var finalOfWorkflow: Int64?
        /// The subject's current update: its newest live one.
        var current: CurrentUpdate?
        /// The subject's queued updates (a new update supersedes them), newest first.
        var queued: [Int64] = []
    }

    /// A subject's current update, with what dedup compares.
    struct CurrentUpdate {
        var id: Int64
        var isQueued: Bool
        var state: String?
        var description: String?
        var targetURL: String?
        var comment: String?
        /// `status` or `check`.
        var report: String?
        /// Whether it is the new call's workflow's.
        var ofWorkflow: Bool

        /// Whether `request` would set the same status again (docs/design.md#dedup). A check run
        /// belongs to its workflow, so another workflow's equal update is no duplicate of it.
        func equals(_ request: StatusRequest) -> Bool {
            state == request.state.rawValue && description == request.description
                && targetURL == request.targetURL && comment == request.comment
                && report == request.report.rawValue && (request.report == .status || ofWorkflow)
        }
    }

    /// What the accept transaction decided for a new update.
    struct AcceptDecision {
        /// `queued`, `duplicate` or `stale`.
        var status: DeliveryStatus
        /// The update it duplicates, or the final update that makes it stale.
        var linked: Int64?
        /// Whether the subject's queued updates are superseded by this one.
        var supersedesQueued: Bool
    }

    /// The first call with this explicit key (scoped to the tenant).
    static func callByKey(_ key: String, in db: Database) throws -> FirstCall? {
        var first: FirstCall?
        try db.cachedStatement(sql: AcceptSQL.callByKey).run([.text(key)]) { row in
            first = FirstCall(id: row.int64(0) ?? 0, body: row.text(1) ?? "", reply: row.text(2), updateID: row.int64(3))
            return false
        }
        return first
    }

    /// Reads the subject's updates, newest first, each with its call when that call is `call`
    /// again (without `key`).
    static func scanSubject(_ subject: Subject, call: IncomingCall, in db: Database) throws -> SubjectScan {
        var scan = SubjectScan()
        let matchCalls = call.explicitKey == nil
        try db.cachedStatement(sql: AcceptSQL.subjectScan(pinned: subject.sha != nil))
            .run([.text(call.workflow.uid), .text(call.templateName), .text(call.bodyCanonical), SQLArgument(call.tenant)] + subject.rawArguments) { row in
                let id = row.int64(0) ?? 0
                let status = row.text(1)
                let ofWorkflow = row.int64(6) == 1
                if status == DeliveryStatus.queued.rawValue, scan.queued.last != id {
                    scan.queued.append(id)
                }
                if scan.current == nil, let status, SQLiteStore.liveStatusNames.contains(status) {
                    scan.current = CurrentUpdate(id: id, isQueued: status == DeliveryStatus.queued.rawValue, state: row.text(2),
                                                 description: row.text(3), targetURL: row.text(4), comment: row.text(5),
                                                 report: row.text(9), ofWorkflow: ofWorkflow)
                }
                if ofWorkflow, scan.finalOfWorkflow == nil, let state = row.text(2), SQLiteStore.terminalStateNames.contains(state) {
                    scan.finalOfWorkflow = id
                }
                if ofWorkflow, matchCalls, scan.repeatOf == nil, let callID = row.int64(7) {
                    scan.repeatOf = FirstCall(id: callID, body: call.bodyCanonical, reply: row.text(8), updateID: id)
                }
                return true
            }
        return scan
    }

    /// Stale (pending/running after this workflow's final state), duplicate (equal to the current
    /// update), or queued; and whether the current update is itself still queued (then it, and
    /// any older queued one, is superseded by the new one; otherwise there is nothing to supersede,
    /// and the claim would catch an older straggler anyway).
    static func decide(_ request: StatusRequest, scan: SubjectScan, workflowUID: String, in db: Database) throws -> AcceptDecision {
        if !request.state.isTerminal {
            // This workflow's latest final update for the context: in the subject, and on the pull
            // request (its updates from before the head was pinned).
            var terminal = scan.finalOfWorkflow
            if let pr = request.pr {
                try db.cachedStatement(sql: AcceptSQL.finalOfWorkflowByPR)
                    .run([.text(request.provider), .text(request.repo), SQLArgument(pr), .text(workflowUID), .text(request.context)]) { row in
                        terminal = max(terminal ?? 0, row.int64(0) ?? 0)
                        return false
                    }
            }
            if let terminal { return AcceptDecision(status: .stale, linked: terminal, supersedesQueued: false) }
        }
        guard let current = scan.current else { return AcceptDecision(status: .queued, linked: nil, supersedesQueued: false) }
        if current.equals(request) { return AcceptDecision(status: .duplicate, linked: current.id, supersedesQueued: false) }
        return AcceptDecision(status: .queued, linked: nil, supersedesQueued: current.isQueued)
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
        let replyJSON = reply.jsonText
        let id = try insertCall(call, idempotencyKey: nil, replyJSON: replyJSON, error: error.message, updateID: nil, at: at, in: db)
        return AcceptResult(callID: id, updateID: nil, outcome: .rejected, reply: reply, replyJSON: replyJSON)
    }

    private static func insertCall(_ call: IncomingCall, idempotencyKey: String?, replyJSON: String, error: String?,
                                   updateID: Int64?, at: Int64, in db: Database) throws -> Int64 {
        try db.cachedStatement(sql: AcceptSQL.insertCall).run([
            .integer(at), .text(call.workflow.namespace), .text(call.workflow.name), .text(call.workflow.uid), .text(call.templateName),
            .text(call.pluginKey), SQLArgument(call.explicitKey), SQLArgument(idempotencyKey), .text(call.bodyCanonical), .text(call.argsText),
            .text(replyJSON), SQLArgument(error), SQLArgument(updateID), .integer(at), SQLArgument(call.tenant),
        ])
        return db.lastInsertedRowID
    }
}

/// The SQL of the accept transaction. Each text is built once: the writer runs these statements
/// for every call, and GRDB finds a cached statement by its SQL.
enum AcceptSQL {
    static let pinnedHead = "SELECT sha, ref FROM pr_heads WHERE provider = ? AND repo = ? AND pr = ? AND workflow_uid = ?"
    static let callByKey = "SELECT id, body, reply, update_id FROM calls WHERE idem_key = ?"
    static let countRepeat = "UPDATE calls SET repeats = repeats + 1, last_received_at = ? WHERE id = ?"

    /// The subject's updates, newest first: id, status, state, description, target URL, comment,
    /// whether it is the given workflow's, and the call of that workflow that this one repeats
    /// (id, reply) if any, and how the update is reported. Arguments: workflow uid, template name, canonical body, tenant, then
    /// the subject's.
    static func subjectScan(pinned: Bool) -> String { pinned ? subjectScanSQL.pinned : subjectScanSQL.unpinned }
    private static let subjectScanSQL = variants { pinned in """
        SELECT u.id, u.status, u.state, u.description, u.target_url, u.comment, u.workflow_uid = ?, c.id, c.reply, u.report
        FROM updates u INDEXED BY \(pinned ? "updates_subject" : "updates_pr_subject")
        LEFT JOIN calls c ON c.update_id = u.id AND c.key IS NULL AND c.template_name = ? AND c.body = ? AND c.tenant IS ?
        WHERE \(Subject.sql(pinned: pinned, on: "u"))
        ORDER BY u.id DESC
        """ }

    /// This workflow's latest final update for the context on a pull request (through
    /// updates_pr_subject), pinned or not.
    static let finalOfWorkflowByPR = """
        SELECT id FROM updates INDEXED BY updates_pr_subject
        WHERE provider = ? AND repo = ? AND pr = ? AND workflow_uid = ? AND context = ? AND \(SQLiteStore.terminalStateSQL)
        ORDER BY id DESC LIMIT 1
        """

    /// Supersedes one queued update of the subject (arguments: the new id, the time, its id).
    static let supersede = """
        UPDATE updates SET status = 'superseded', linked_id = ?, next_attempt_at = NULL, finished_at = ?
        WHERE id = ? AND status = 'queued'
        """

    static let insertUpdate = """
        INSERT INTO updates (created_at, provider, repo, sha, pr, ref, context, state, description, target_url, comment,
            workflow_namespace, workflow_name, workflow_uid, wait, status, linked_id, next_attempt_at, age_from, finished_at, report)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static let insertCall = """
        INSERT INTO calls (received_at, workflow_namespace, workflow_name, workflow_uid, template_name, plugin_key,
            key, idem_key, body, args, reply, error, update_id, last_received_at, tenant)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    private static func variants(_ sql: (Bool) -> String) -> (pinned: String, unpinned: String) { (sql(true), sql(false)) }
}
