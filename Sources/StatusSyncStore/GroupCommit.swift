import GRDB
import Synchronization

/// Group commit for accepted calls: calls that arrive while a transaction is committing wait and
/// are written together in the next one. N calls share one fsync, and each caller still gets its
/// result only after the transaction holding its call has committed. When a call throws, the
/// batch is written again with a savepoint per call, so a failing call rolls back only its own
/// writes; a failing commit fails the whole batch (every caller gets the error, nothing is
/// half-written).
final class GroupCommit<Input: Sendable, Output: Sendable>: Sendable {
    typealias Work = @Sendable (Input, Database) throws -> Output

    private struct Pending: Sendable {
        let input: Input
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State: Sendable {
        var queue: [Pending] = []
        var flushing = false
    }

    private let writer: any DatabaseWriter
    private let work: Work
    private let maxBatch: Int
    private let state = Mutex(State())
    /// Transactions committed so far (for tests and diagnostics).
    private let batches = Atomic<Int>(0)
    var committedBatches: Int { batches.load(ordering: .relaxed) }

    init(writer: any DatabaseWriter, maxBatch: Int = 512, work: @escaping Work) {
        self.writer = writer
        self.work = work
        self.maxBatch = maxBatch
    }

    func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { s -> Bool in
                s.queue.append(Pending(input: input, continuation: continuation))
                guard !s.flushing else { return false }
                s.flushing = true
                return true
            }
            if lead {
                Task { await self.flush() }
            }
        }
    }

    /// Writes batches until the queue is empty.
    private func flush() async {
        while true {
            let batch = state.withLock { s -> [Pending] in
                guard !s.queue.isEmpty else {
                    s.flushing = false
                    return []
                }
                let n = min(s.queue.count, maxBatch)
                let batch = Array(s.queue.prefix(n))
                s.queue.removeFirst(n)
                return batch
            }
            guard !batch.isEmpty else { return }
            let work = self.work
            let inputs = batch.map(\.input)
            do {
                let results: [Result<Output, any Error>]
                do {
                    // Items almost never throw (a rejected call is a result, not an error), so write
                    // the batch plainly first: savepoints would journal every page each item touches.
                    results = try await writer.write { db in try inputs.map { .success(try work($0, db)) } }
                } catch where batch.count > 1 {
                    // Something failed and the whole transaction rolled back: write the batch again
                    // with a savepoint per item, so only the items that fail get the error.
                    results = try await writer.write { db -> [Result<Output, any Error>] in
                        inputs.map { input in
                            var output: Result<Output, any Error> = .failure(CancellationError())
                            do {
                                try db.inSavepoint {
                                    output = .success(try work(input, db))
                                    return .commit
                                }
                            } catch {
                                output = .failure(error)
                            }
                            return output
                        }
                    }
                }
                batches.add(1, ordering: .relaxed)
                for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }
}
