import GRDB

extension SQLiteStore {
    /// The smallest id of `table` whose time column (`created_at`, `received_at`: ms) is at or
    /// after `ms`, or nil when every row is older. Ids grow with time, so a binary search over
    /// ids finds it in about 20 rowid lookups; the tables carry no index on their time columns,
    /// which would cost every accepted call two more index writes. A clock that stepped back
    /// only makes the boundary approximate: a few rows are pruned an hour later, or shown by
    /// `--since` a little early.
    static func firstID(in table: TimedTable, atOrAfter ms: Int64, in db: Database) throws -> Int64? {
        guard let maxID = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM \(table.rawValue)") else { return nil }
        var lo = try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM \(table.rawValue)") ?? 0
        var hi = maxID + 1
        // Invariants: rows below `lo` are older; `first` is the first row at or after `hi`, and
        // every row from there on is newer (nil: there is none).
        var first: Int64? = nil
        let probe = try db.cachedStatement(sql: "SELECT id, \(table.timeColumn) FROM \(table.rawValue) WHERE id >= ? ORDER BY id LIMIT 1")
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            guard let row = try Row.fetchOne(probe, arguments: [mid]) else { hi = mid; continue }
            let id: Int64 = row[0]
            let time: Int64 = row[1]
            if id >= hi {
                hi = mid            // nothing in [mid, hi): `first` is still the first row at or after mid
            } else if time >= ms {
                hi = mid
                first = id
            } else {
                lo = id + 1
            }
        }
        return first
    }

    /// The tables with a creation time, and its column.
    enum TimedTable: String {
        case updates
        case calls

        var timeColumn: String {
            switch self {
            case .updates: "created_at"
            case .calls: "received_at"
            }
        }
    }
}
