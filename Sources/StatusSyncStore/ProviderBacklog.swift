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

    /// `github: 120 waiting, oldest 3m 5s, drains in about 1m 30s at 80/min` (`backlog` and the
    /// dashboard). Without a known pause (`pausedFor` nil, as in the CLI), the drain starts at the
    /// earliest next attempt when none is due yet: a rate-limit pause or backoff still to run.
    public func summaryLine(pacing: Pacing?, pausedFor: Double?, now: Date) -> String {
        let line = "\(provider): \(waiting) waiting, oldest \(DrainTime.text(seconds: oldestAge(at: now)))"
        guard let pacing, pacing.perMinute > 0 else { return line + ", unpaced" }
        let pause = pausedFor ?? earliestNextAttempt.map { $0.timeIntervalSince(now) } ?? 0
        let drain = drainSeconds(perSecond: pacing.perMinute / 60, pausedFor: pause)
        return line + ", drains in about \(DrainTime.text(seconds: drain)) at \(Int(pacing.perMinute))/min"
    }
}

extension SQLiteStore {
    /// The backlog of each provider that has one, by provider name.
    public func backlogSummary() async throws -> [ProviderBacklog] {
        try await database.reader.read { db in
            // Queued and delivering rows each through their partial index: the work is the
            // backlog's size, not the table's.
            var byProvider: [String: ProviderBacklog] = [:]
            for sql in [ProviderBacklogSQL.queued, ProviderBacklogSQL.delivering] {
                for row in try Row.fetchAll(db, sql: sql) {
                    let provider: String = row["provider"]
                    let oldest = Timestamp.date(row["oldest"])
                    let next = (row["next"] as Int64?).map(Timestamp.date)
                    if var known = byProvider[provider] {
                        known.waiting += row["waiting"] as Int
                        known.oldestCreatedAt = min(known.oldestCreatedAt, oldest)
                        known.earliestNextAttempt = [known.earliestNextAttempt, next].compactMap { $0 }.min()
                        byProvider[provider] = known
                    } else {
                        byProvider[provider] = ProviderBacklog(provider: provider, waiting: row["waiting"], oldestCreatedAt: oldest, earliestNextAttempt: next)
                    }
                }
            }
            return byProvider.values.sorted { $0.provider < $1.provider }
        }
    }
}

enum ProviderBacklogSQL {
    static let queued = """
        SELECT provider, COUNT(*) AS waiting, MIN(created_at) AS oldest, MIN(next_attempt_at) AS next
        FROM updates INDEXED BY updates_due WHERE status = 'queued' GROUP BY provider
        """
    static let delivering = """
        SELECT provider, COUNT(*) AS waiting, MIN(created_at) AS oldest, NULL AS next
        FROM updates INDEXED BY updates_in_flight WHERE status = 'delivering' GROUP BY provider
        """
}
