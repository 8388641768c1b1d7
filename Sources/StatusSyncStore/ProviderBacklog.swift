import Foundation
import GRDB
import StatusSyncCore

/// One provider's updates still to deliver (`queued` or `delivering`), for `backlog`, the
/// backlog gauges and the drain-time warning (docs/design.md#delivery-order).
public struct ProviderBacklog: Sendable, Equatable {
    public var provider: String
    /// Updates queued or delivering.
    public var waiting: Int
    /// When the oldest of them was accepted.
    public var oldestCreatedAt: Date
    /// The earliest next attempt of the queued ones (nil when all are in flight).
    public var earliestNextAttempt: Date?

    /// Seconds since the oldest waiting update was accepted.
    public func oldestAge(at now: Date) -> Double { max(0, now.timeIntervalSince(oldestCreatedAt)) }

    /// Seconds to send them all at `perSecond` calls a second, after a pause of `pausedFor`.
    public func drainSeconds(perSecond: Double, pausedFor: Double) -> Double {
        max(0, pausedFor) + Double(waiting) / max(perSecond, .leastNonzeroMagnitude)
    }
}

extension SQLiteStore {
    /// The backlog of each provider that has one, by provider name.
    public func backlogSummary() async throws -> [ProviderBacklog] {
        try await database.reader.read { db in
            try Row.fetchAll(db, sql: """
                SELECT provider, COUNT(*) AS waiting, MIN(created_at) AS oldest, MIN(next_attempt_at) AS next
                FROM updates WHERE status = 'queued' OR status = 'delivering'
                GROUP BY provider ORDER BY provider
                """).map { row in
                ProviderBacklog(provider: row["provider"], waiting: row["waiting"], oldestCreatedAt: Timestamp.date(row["oldest"]),
                                earliestNextAttempt: (row["next"] as Int64?).map(Timestamp.date))
            }
        }
    }
}
