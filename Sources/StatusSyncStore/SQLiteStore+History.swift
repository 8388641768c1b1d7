import Foundation
import GRDB
import StatusSyncCore

/// Filters of `history` (docs/design.md#cli).
public struct HistoryFilter: Sendable {
    public var repo: String?
    /// A prefix of the sha (short hashes work).
    public var sha: String?
    public var context: String?
    public var workflow: String?
    public var namespace: String?
    public var state: NeutralState?
    public var delivery: DeliveryStatus?
    public var since: Date?
    /// Only updates older than this id (the next page of a listing, newest first).
    public var beforeID: Int64?
    public var limit: Int = 50

    public init() {}
}

/// Filters of `calls`.
public struct CallsFilter: Sendable {
    public var workflow: String?
    public var namespace: String?
    public var rejectedOnly = false
    public var since: Date?
    public var limit: Int = 50

    public init() {}
}

extension SQLiteStore {
    public func history(_ filter: HistoryFilter) async throws -> [UpdateView] {
        var clauses: [String] = []
        var args: StatementArguments = []
        if let v = filter.repo { clauses.append("repo = ?"); args += [v] }
        if let v = filter.sha { clauses.append("sha LIKE ? ESCAPE '\\'"); args += [Self.likePrefix(v.lowercased())] }
        if let v = filter.context { clauses.append("context = ?"); args += [v] }
        if let v = filter.workflow { clauses.append("workflow_name = ?"); args += [v] }
        if let v = filter.namespace { clauses.append("workflow_namespace = ?"); args += [v] }
        if let v = filter.state { clauses.append("state = ?"); args += [v.rawValue] }
        if let v = filter.delivery { clauses.append("status = ?"); args += [v.rawValue] }
        if let v = filter.beforeID { clauses.append("id < ?"); args += [v] }
        let (filters, arguments, since) = (clauses, args, filter.since.map(Timestamp.ms))
        return try await database.reader.read { db in
            guard let (whereSQL, args) = try Self.whereClause(filters, arguments, since: since, in: .updates, db: db) else { return [] }
            return try Row.fetchAll(db, sql: "SELECT *, \(Self.checkRunIDColumn) FROM updates \(whereSQL) ORDER BY id DESC LIMIT ?", arguments: args + [filter.limit])
                .map(Self.updateView)
        }
    }

    /// Updates still to be delivered, the next due first.
    public func backlog(limit: Int = 1000) async throws -> [UpdateView] {
        try await database.reader.read { db in
            // In flight first, then by next attempt: each part in its partial index's order.
            let delivering = try Row.fetchAll(db, sql: "SELECT *, \(Self.checkRunIDColumn) FROM updates INDEXED BY updates_in_flight WHERE status = 'delivering' ORDER BY id LIMIT ?",
                                              arguments: [limit])
            let queued = try Row.fetchAll(db, sql: "SELECT *, \(Self.checkRunIDColumn) FROM updates INDEXED BY updates_due WHERE status = 'queued' ORDER BY next_attempt_at, id LIMIT ?",
                                          arguments: [max(0, limit - delivering.count)])
            return (delivering + queued).map(Self.updateView)
        }
    }

    public func calls(_ filter: CallsFilter) async throws -> [CallView] {
        var clauses: [String] = []
        var args: StatementArguments = []
        if let v = filter.workflow { clauses.append("workflow_name = ?"); args += [v] }
        if let v = filter.namespace { clauses.append("workflow_namespace = ?"); args += [v] }
        if filter.rejectedOnly { clauses.append("error IS NOT NULL") }  // through calls_rejected
        let (filters, arguments, since) = (clauses, args, filter.since.map(Timestamp.ms))
        return try await database.reader.read { db in
            guard let (whereSQL, args) = try Self.whereClause(filters, arguments, since: since, in: .calls, db: db) else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM calls \(whereSQL) ORDER BY id DESC LIMIT ?", arguments: args + [filter.limit])
                .map(Self.callView)
        }
    }

    /// The WHERE clause of a listing: the filters, and for `--since` the time bound together with
    /// the first id at or after it, which keeps the scan within the recent ids (the time columns
    /// have no index). Nil when `--since` is later than every row.
    static func whereClause(_ clauses: [String], _ arguments: StatementArguments, since: Int64?, in table: TimedTable,
                            db: Database) throws -> (sql: String, arguments: StatementArguments)? {
        var clauses = clauses
        var arguments = arguments
        if let since {
            guard let first = try firstID(in: table, atOrAfter: since, in: db) else { return nil }
            clauses += ["\(table.timeColumn) >= ?", "id >= ?"]
            arguments += [since, first]
        }
        return (clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND "), arguments)
    }

    /// One update with its calls and attempts; nil when there is no such id.
    public func detail(id: Int64) async throws -> UpdateDetail? {
        try await database.reader.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT *, \(Self.checkRunIDColumn) FROM updates WHERE id = ?", arguments: [id]) else { return nil }
            let calls = try Row.fetchAll(db, sql: "SELECT * FROM calls WHERE update_id = ? ORDER BY id", arguments: [id]).map(Self.callView)
            let attempts = try Row.fetchAll(db, sql: "SELECT * FROM attempts WHERE update_id = ? ORDER BY id", arguments: [id]).map { r in
                AttemptView(at: Timestamp.rfc3339(r["at"]), durationMs: r["duration_ms"], operation: r["operation"],
                            httpStatus: r["http_status"], errorClass: r["error_class"], error: r["error"])
            }
            var detail = UpdateDetail(update: Self.updateView(row), calls: calls, attempts: attempts)
            detail.reruns = try Self.reruns(ofUpdate: id, in: db)
            return detail
        }
    }

    /// GitHub's id of a check update's run (through check_runs_run), as column `check_run_id`.
    static let checkRunIDColumn = """
        (SELECT c.check_run_id FROM check_runs c WHERE updates.report = 'check' AND c.provider = updates.provider
            AND c.repo = updates.repo AND c.sha = updates.sha AND c.context = updates.context AND c.workflow_uid = updates.workflow_uid) AS check_run_id
        """

    static func updateView(_ row: Row) -> UpdateView {
        UpdateView(
            id: row["id"], createdAt: Timestamp.rfc3339(row["created_at"]), provider: row["provider"], repo: row["repo"],
            sha: row["sha"], pr: row["pr"], ref: row["ref"], context: row["context"],
            state: NeutralState(rawValue: row["state"]) ?? .pending, description: row["description"],
            targetURL: row["target_url"], comment: row["comment"], wait: row["wait"],
            workflow: WorkflowRef(namespace: row["workflow_namespace"], name: row["workflow_name"], uid: row["workflow_uid"]),
            delivery: .init(
                status: DeliveryStatus(rawValue: row["status"]) ?? .queued, attempts: row["attempts"], lastError: row["last_error"],
                nextAttemptAt: (row["next_attempt_at"] as Int64?).map(Timestamp.rfc3339),
                deliveredAt: (row["delivered_at"] as Int64?).map(Timestamp.rfc3339), linkedUpdateId: row["linked_id"]
            ),
            report: (row["report"] as String?).flatMap(ReportKind.init(rawValue:)) ?? .status,
            checkRunId: row["check_run_id"]
        )
    }

    static func callView(_ row: Row) -> CallView {
        let body = (try? JSONValue.parse(Data((row["body"] as String).utf8))) ?? .null
        let reply = (row["reply"] as String?).flatMap { try? JSONValue.parse(Data($0.utf8)) }
        return CallView(
            id: row["id"], receivedAt: Timestamp.rfc3339(row["received_at"]),
            workflow: WorkflowRef(namespace: row["workflow_namespace"], name: row["workflow_name"], uid: row["workflow_uid"]),
            template: row["template_name"], pluginKey: row["plugin_key"], key: row["key"], body: body, reply: reply,
            error: row["error"], updateId: row["update_id"], repeats: row["repeats"], tenant: row["tenant"], args: row["args"]
        )
    }

    static func likePrefix(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
    }
}

extension SQLiteStore {
    /// How many stored updates are in each delivery status (every status, 0 included).
    public func statusCounts() async throws -> [DeliveryStatus: Int] {
        try await database.reader.read { db in
            var counts = Dictionary(uniqueKeysWithValues: DeliveryStatus.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM updates GROUP BY status") {
                if let status = DeliveryStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    /// How far back `recentErrors` looks: the latest attempts of all providers, so the overview
    /// reads a bounded range of the attempts table however large it is.
    static let recentAttempts = 5000

    /// A provider's latest failed attempts among the latest `recentAttempts`, newest first (the
    /// CROSS JOIN keeps SQLite reading attempts by id, newest first, and updates by primary key).
    public func recentErrors(provider: String, limit: Int = 3) async throws -> [RecentError] {
        try await database.reader.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.update_id, a.at, a.http_status, a.error_class, a.error FROM attempts a CROSS JOIN updates u ON u.id = a.update_id
                WHERE a.id > (SELECT MAX(id) FROM attempts) - ? AND u.provider = ? AND a.error_class != 'ok' ORDER BY a.id DESC LIMIT ?
                """, arguments: [Self.recentAttempts, provider, limit]).map { row in
                RecentError(updateID: row["update_id"], at: Timestamp.rfc3339(row["at"]), httpStatus: row["http_status"],
                            errorClass: row["error_class"], error: row["error"])
            }
        }
    }
}

/// A failed provider call, for the dashboard's overview.
public struct RecentError: Sendable, Equatable {
    public var updateID: Int64
    public var at: String
    public var httpStatus: Int?
    public var errorClass: String
    public var error: String?
}
