import Foundation
import Logging
import ServiceLifecycle
import StatusSyncCore
import StatusSyncStore

/// Prunes finished history older than `retention`, once an hour (and shortly after start).
/// Queued and delivering updates are never removed.
public struct RetentionService: Service {
    let store: SQLiteStore
    let retention: ConfigDuration
    let interval: Duration
    let firstRunAfter: Duration
    let logger: Logger

    public init(store: SQLiteStore, retention: ConfigDuration, interval: Duration = .seconds(3600),
                firstRunAfter: Duration = .seconds(60), logger: Logger) {
        self.store = store
        self.retention = retention
        self.interval = interval
        self.firstRunAfter = firstRunAfter
        self.logger = logger
    }

    public func run() async throws {
        var wait = firstRunAfter
        while true {
            let pause = wait
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            wait = interval
            let cutoff = Date().addingTimeInterval(-retention.seconds)
            do {
                let result = try await store.prune(before: cutoff)
                if result.updates + result.calls > 0 {
                    logger.info("pruned history older than retention", metadata: [
                        "retention": "\(retention)", "updates": "\(result.updates)", "calls": "\(result.calls)", "attempts": "\(result.attempts)",
                    ])
                }
            } catch {
                logger.error("pruning failed; will try again in an hour", metadata: ["error": "\(error)"])
            }
        }
    }
}
