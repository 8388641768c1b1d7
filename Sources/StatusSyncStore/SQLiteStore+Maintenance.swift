import Foundation
import GRDB
import StatusSyncCore

/// What `retry` did with one id.
public enum RequeueResult: Sendable, Equatable {
    case requeued
    /// A newer update of the same context exists: sending this one would regress the status.
    case superseded(by: Int64)
    /// Only failed or dead updates can be retried.
    case notRetryable(DeliveryStatus)
    case notFound
}

/// What `prune` removed.
public struct PruneResult: Sendable, Equatable {
    public var updates = 0
    public var calls = 0
    public var attempts = 0
    public var pinnedHeads = 0
    public init() {}
}

extension SQLiteStore {
    /// `retry ID…`: requeues failed or dead updates with attempts and the age clock reset; the
    /// history (attempts, last error) is kept. One transaction per id.
    public func requeue(ids: [Int64]) async throws -> [Int64: RequeueResult] {
        let at = Timestamp.ms(now())
        var results: [Int64: RequeueResult] = [:]
        for id in ids {
            results[id] = try await database.writer.write { db in try Self.requeue(id: id, at: at, in: db) }
        }
        return results
    }

    /// `retry --failed` / `--dead`: requeues every update in that state. Returns the outcomes.
    public func requeue(status: DeliveryStatus) async throws -> [Int64: RequeueResult] {
        let ids = try await database.reader.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM updates WHERE status = ? ORDER BY id", arguments: [status.rawValue])
        }
        return try await requeue(ids: ids)
    }

    static func requeue(id: Int64, at: Int64, in db: Database) throws -> RequeueResult {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM updates WHERE id = ?", arguments: [id]) else { return .notFound }
        let status = DeliveryStatus(rawValue: row["status"]) ?? .queued
        guard status == .failed || status == .dead else { return .notRetryable(status) }
        let job = job(row)
        if let newer = try newerLiveUpdate(than: job, in: db) {
            try db.execute(sql: "UPDATE updates SET status = 'superseded', linked_id = ? WHERE id = ?", arguments: [newer, id])
            return .superseded(by: newer)
        }
        try db.execute(sql: """
            UPDATE updates SET status = 'queued', attempts = 0, age_from = ?, next_attempt_at = ?, finished_at = NULL
            WHERE id = ?
            """, arguments: [at, at, id])
        return .requeued
    }

    /// Removes finished updates (every status but queued and delivering) created before `cutoff`,
    /// their attempts and calls, calls that back no update, PR heads resolved before `cutoff`, and
    /// check-run records last changed before it.
    /// Works in small transactions so a running `serve` is never blocked for long.
    public func prune(before cutoff: Date, batchSize: Int = 500, progress: (@Sendable (PruneResult) -> Void)? = nil) async throws -> PruneResult {
        let limit = Timestamp.ms(cutoff)
        var total = PruneResult()
        while true {
            let step = try await database.writer.write { db -> PruneResult in
                var r = PruneResult()
                // Old rows are those below the first new id: a rowid range, no time index needed.
                let boundary = try Self.firstID(in: .updates, atOrAfter: limit, in: db) ?? Int64.max
                let ids = try Int64.fetchAll(db, sql: """
                    SELECT id FROM updates WHERE id < ? AND created_at < ? AND status NOT IN ('queued','delivering') ORDER BY id LIMIT ?
                    """, arguments: [boundary, limit, batchSize])
                guard !ids.isEmpty else { return r }
                let list = ids.map(String.init).joined(separator: ",")
                r.attempts = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attempts WHERE update_id IN (\(list))") ?? 0
                try db.execute(sql: "DELETE FROM attempts WHERE update_id IN (\(list))")
                try db.execute(sql: "DELETE FROM rerun_attempts WHERE rerun_id IN (SELECT id FROM reruns WHERE update_id IN (\(list)))")
                try db.execute(sql: "DELETE FROM reruns WHERE update_id IN (\(list))")
                try db.execute(sql: "DELETE FROM calls WHERE update_id IN (\(list))")
                r.calls = db.changesCount
                try db.execute(sql: "DELETE FROM updates WHERE id IN (\(list))")
                r.updates = db.changesCount
                return r
            }
            total.updates += step.updates
            total.calls += step.calls
            total.attempts += step.attempts
            if step.updates > 0 { progress?(total) }
            if step.updates < batchSize { break }
        }
        let rest = try await database.writer.write { db -> (Int, Int) in
            let boundary = try Self.firstID(in: .calls, atOrAfter: limit, in: db) ?? Int64.max
            try db.execute(sql: "DELETE FROM calls WHERE id < ? AND update_id IS NULL AND received_at < ?", arguments: [boundary, limit])
            let calls = db.changesCount
            try db.execute(sql: "DELETE FROM pr_heads WHERE resolved_at < ?", arguments: [limit])
            let heads = db.changesCount
            // Check-run records no delivery touched since the cutoff (their updates are finished by then).
            try db.execute(sql: "DELETE FROM check_runs WHERE updated_at < ?", arguments: [limit])
            return (calls, heads)
        }
        total.calls += rest.0
        total.pinnedHeads = rest.1
        return total
    }
}
