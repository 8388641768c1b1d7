import Foundation
import GRDB
import StatusSyncCore

/// The SQLite implementation of the call and delivery stores. Every method that changes state is
/// one transaction that keeps the invariants of docs/design.md#guarantees.
public struct SQLiteStore: Sendable {
    public let database: AppDatabase
    let now: @Sendable () -> Date
    /// Accepted calls and finished delivery attempts are written by one group commit, so they
    /// share transactions (nil for a read-only database).
    let batcher: GroupCommit<BatchedWrite, BatchedWrite.Outcome>?

    public init(database: AppDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
        self.batcher = database.pool.map { pool in
            GroupCommit(writer: pool, monitor: database) { write, db in try write.perform(in: db) }
        }
    }

    /// Group-commit transactions so far (accepted calls and finished attempts; usually far fewer
    /// than the writes they hold).
    public var batchedTransactions: Int { batcher?.committedBatches ?? 0 }

    /// The delivery statuses of a subject's live updates, and the final states of a workflow.
    static let liveStatusNames = ["queued", "delivering", "delivered"]
    static let terminalStateNames = ["success", "failure", "error", "cancelled", "skipped"]
    /// The same two tests as SQL conditions. Written as OR comparisons: SQLite evaluates an IN
    /// list of more than two constants through a temporary b-tree built for every run.
    static let liveStatusSQL = anyOf("status", liveStatusNames)
    static let terminalStateSQL = anyOf("state", terminalStateNames)
    private static func anyOf(_ column: String, _ names: [String]) -> String {
        "(" + names.map { "\(column) = '\($0)'" }.joined(separator: " OR ") + ")"
    }

    /// The columns an `UpdateOutcome` is read from.
    static let outcomeColumns = "id, status, state, repo, sha, pr, context, attempts, last_error, linked_id"

    static func outcome(_ row: Row) -> UpdateOutcome {
        UpdateOutcome(
            id: row["id"], status: DeliveryStatus(rawValue: row["status"]) ?? .queued,
            state: NeutralState(rawValue: row["state"]) ?? .pending, repo: row["repo"], sha: row["sha"],
            pr: row["pr"], context: row["context"], attempts: row["attempts"], lastError: row["last_error"],
            linkedID: row["linked_id"]
        )
    }

    static func fetchOutcome(_ db: Database, id: Int64) throws -> UpdateOutcome? {
        try Row.fetchOne(db, sql: "SELECT \(outcomeColumns) FROM updates WHERE id = ?", arguments: [id]).map(outcome)
    }
}

extension SQLiteStore: CallStore {
    public func readinessProblem() async -> String? { await database.readinessProblem() }
}
