import GRDB
import StatusSyncCore

/// One provider's due updates in delivery order (docs/design.md#delivery-order): two index ranges
/// read side by side, final states and pending/running ones, each oldest first. Finals go first;
/// a pending or running update accepted before `overdueBefore` (maxDeferral ago) ranks among the
/// finals by its accept time. Neither read sorts: each walks a partial index of queued rows.
struct DueUpdates {
    private let finals: RowCursor
    private let progress: RowCursor
    private let overdueBefore: Int64
    private var nextFinal: Row?
    private var nextProgress: Row?

    init(provider: String, at: Int64, overdueBefore: Int64, in db: Database) throws {
        finals = try Row.fetchCursor(db.cachedStatement(sql: DueSQL.finals), arguments: [provider, at])
        progress = try Row.fetchCursor(db.cachedStatement(sql: DueSQL.progress), arguments: [provider, at])
        self.overdueBefore = overdueBefore
        nextFinal = try finals.next()?.copy()
        nextProgress = try progress.next()?.copy()
    }

    /// The next due update, or nil when the provider has none.
    mutating func next() throws -> Row? {
        let takeProgress: Bool
        switch (nextFinal, nextProgress) {
        case (nil, nil): return nil
        case (nil, _): takeProgress = true
        case (_, nil): takeProgress = false
        case (let final?, let pending?):
            let overdue = (pending["created_at"] as Int64) < overdueBefore
            takeProgress = overdue && (pending["id"] as Int64) < (final["id"] as Int64)
        }
        // The cursors reuse their rows: keep a copy of each head.
        if takeProgress {
            let row = nextProgress
            nextProgress = try progress.next()?.copy()
            return row
        }
        let row = nextFinal
        nextFinal = try finals.next()?.copy()
        return row
    }
}

/// The two reads of `DueUpdates`. Each repeats its partial index's condition word for word
/// (SQLite uses a partial index only then) and orders by the index's own order.
enum DueSQL {
    static let finals = """
        SELECT * FROM updates INDEXED BY updates_due_final
        WHERE status = 'queued' AND \(SQLiteStore.terminalStateSQL) AND provider = ? AND next_attempt_at <= ?
        ORDER BY provider, id
        """
    static let progress = """
        SELECT * FROM updates INDEXED BY updates_due_progress
        WHERE status = 'queued' AND (state = 'pending' OR state = 'running') AND provider = ? AND next_attempt_at <= ?
        ORDER BY provider, id
        """
}
