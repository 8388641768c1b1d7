import Foundation
import Logging
import Metrics
import ServiceLifecycle
import StatusSyncStore
import Synchronization

/// Measures each provider's backlog: the `statussync_backlog`, `statussync_backlog_oldest_seconds`
/// and `statussync_provider_budget` gauges, and a warning while a paced provider's backlog would
/// take more than `warnAbove` to drain at its pacing (at most once per `warnEvery` and provider).
/// See docs/design.md#delivery-order.
public final class BacklogMonitor: Service, Sendable {
    let store: SQLiteStore
    let delivery: DeliveryService
    let logger: Logger
    let interval: Duration
    let warnAbove: Double
    let warnEvery: Double
    let now: @Sendable () -> Date
    private let lastWarning = Mutex<[String: Date]>([:])

    public init(store: SQLiteStore, delivery: DeliveryService, logger: Logger, interval: Duration = .seconds(15),
                warnAbove: Duration = .seconds(300), warnEvery: Duration = .seconds(60),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.delivery = delivery
        self.logger = logger
        self.interval = interval
        self.warnAbove = Double(warnAbove.components.seconds)
        self.warnEvery = Double(warnEvery.components.seconds)
        self.now = now
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await check()
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    /// Records the gauges (also at every scrape of /metrics) and warns about slow drains.
    public func check() async {
        guard let backlogs = try? await store.backlogSummary() else { return }
        let byProvider = Dictionary(backlogs.map { ($0.provider, $0) }, uniquingKeysWith: { a, _ in a })
        let current = now()
        for name in delivery.providerNames {
            let backlog = byProvider[name]
            let pacing = delivery.pacing(of: name)
            let dimensions = [("provider", name)]
            Gauge(label: "statussync_backlog", dimensions: dimensions).record(backlog?.waiting ?? 0)
            Gauge(label: "statussync_backlog_oldest_seconds", dimensions: dimensions).record(backlog?.oldestAge(at: current) ?? 0)
            if let available = pacing.available {
                Gauge(label: "statussync_provider_budget", dimensions: dimensions).record(available)
            }
            guard let backlog, let perSecond = pacing.perSecond else { continue }
            let drain = backlog.drainSeconds(perSecond: perSecond, pausedFor: pacing.pausedFor)
            guard drain > warnAbove else { continue }
            let due = lastWarning.withLock { last -> Bool in
                if let at = last[name], current.timeIntervalSince(at) < warnEvery { return false }
                last[name] = current
                return true
            }
            if due {
                logger.warning("provider backlog will take longer than \(Int(warnAbove / 60)) minutes to drain at its pacing", metadata: [
                    "provider": "\(name)", "waiting": "\(backlog.waiting)", "drain": "\(DrainTime.text(seconds: drain))",
                    "oldest": "\(DrainTime.text(seconds: backlog.oldestAge(at: current)))",
                ])
            }
        }
    }
}
