import Foundation
import GRDB

/// Copies committed pages from the write-ahead log into the database file on a connection of its
/// own (PASSIVE checkpoints), so the writer rarely checkpoints while callers wait for its commit.
/// The writer's automatic checkpoint stays on as a backstop (`AppDatabase.openForWriting`'s
/// `autoCheckpointPages`): it only has to copy what this one has not, and then the log restarts.
public struct WALCheckpointer: Sendable {
    private let queue: DatabaseQueue

    /// Opens the checkpoint connection on the database `serve` writes (it must exist, in WAL mode).
    public init(path: String, busyTimeout: Double = 5) throws {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.label = "statussync-checkpoint"
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            // A checkpoint syncs the log before copying and the database file after, as the writer does.
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw StoreError(.cannotOpen, "cannot open a checkpoint connection to \(path): \(AppDatabase.describe(error))")
        }
    }

    /// Runs one PASSIVE checkpoint: it never waits for the writer or readers.
    /// Returns the log's size in frames and how many of them are now in the database file.
    @discardableResult
    public func checkpoint() async throws -> (walFrames: Int, checkpointed: Int) {
        try await queue.writeWithoutTransaction { db in
            let result = try db.checkpoint(.passive)
            return (result.walFrameCount, result.checkpointedFrameCount)
        }
    }
}
