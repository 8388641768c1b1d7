import Foundation
import GRDB
import StatusSyncCore

/// The SQLite implementation of the call and delivery stores. Every method that changes state is
/// one transaction that keeps the invariants of CONTRACT §3.
public struct SQLiteStore: Sendable {
    public let database: AppDatabase
    let now: @Sendable () -> Date
    /// Accepted calls are written by group commit (nil for a read-only database).
    let acceptor: GroupCommit<IncomingCall, AcceptResult>?
    /// Finished delivery attempts are recorded by group commit too.
    let finisher: GroupCommit<FinishRequest, DeliveryStatus>?

    public init(database: AppDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
        self.acceptor = database.pool.map { pool in
            GroupCommit(writer: pool) { call, db in try SQLiteStore.accept(call, in: db) }
        }
        self.finisher = database.pool.map { pool in
            GroupCommit(writer: pool) { request, db in try SQLiteStore.finish(request, in: db) }
        }
    }

    /// Transactions that recorded accepted calls so far (group commit: usually fewer than calls).
    public var acceptTransactions: Int { acceptor?.committedBatches ?? 0 }

    static let liveStatuses = "('queued','delivering','delivered')"
    static let terminalStates = "('success','failure','error','cancelled','skipped')"

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
    public func isReady() async -> Bool { await database.isReady() }
}
