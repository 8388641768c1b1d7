import Logging
import ServiceLifecycle
import StatusSyncStore

/// Checkpoints the write-ahead log every `interval` from its own connection while `serve` runs,
/// so the writer (and every caller waiting for its commit) does not stop to copy pages.
public struct CheckpointService: Service {
    let checkpointer: WALCheckpointer
    let interval: Duration
    let logger: Logger

    public init(checkpointer: WALCheckpointer, interval: Duration = .milliseconds(100), logger: Logger) {
        self.checkpointer = checkpointer
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        var failing = false
        while true {
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            do {
                let (frames, copied) = try await checkpointer.checkpoint()
                if failing { logger.info("checkpoints work again", metadata: ["walFrames": "\(frames)", "checkpointed": "\(copied)"]) }
                failing = false
            } catch {
                // The writer's own automatic checkpoint still bounds the log; say so once per streak.
                if !failing { logger.warning("background checkpoint failed; the writer checkpoints by itself meanwhile", metadata: ["error": "\(error)"]) }
                failing = true
            }
        }
    }
}
