import GRDB
import Synchronization

/// Told about every group-commit transaction: asked just before COMMIT whether it may commit
/// (throwing rolls the batch back and fails every write in it), and told how it ended.
protocol CommitMonitor: Sendable {
    func beforeCommit() throws
    func committed()
    func failed(_ error: any Error)
}

/// Group commit: writes that arrive while a transaction is committing wait and are written
/// together in the next one. N writes share one fsync, and each caller still gets its result only
/// after the transaction holding its write has committed. When a write throws, the batch is
/// written again with a savepoint per write, so a failing write rolls back only its own changes;
/// a failing commit fails the whole batch (every caller gets the error, nothing is half-written).
///
/// Batches run on the writer's own queue back to back: the commit of one resumes its callers and
/// queues the next batch from there, so the writer never waits for another thread between
/// batches, and other writes (claims, retries, pruning) still take their turn in between. Writes
/// that arrive while a batch's statements run join it, once, before its COMMIT (up to `maxBatch`),
/// so they share its fsync instead of waiting a whole commit for the next batch.
final class GroupCommit<Input: Sendable, Output: Sendable>: Sendable {
    typealias Work = @Sendable (Input, Database) throws -> Output

    private struct Pending: Sendable {
        let input: Input
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State: Sendable {
        var queue: [Pending] = []
        /// A batch is queued or being written; the next one is started by its completion.
        var writing = false

        /// Takes the next batch, or clears `writing` when there is none.
        mutating func next(max: Int) -> [Pending] {
            guard !queue.isEmpty else {
                writing = false
                return []
            }
            return take(max: max)
        }

        /// Takes up to `max` queued writes (for the batch being written; `writing` stays set).
        mutating func take(max: Int) -> [Pending] {
            let n = min(queue.count, max)
            guard n > 0 else { return [] }
            let batch = Array(queue.prefix(n))
            queue.removeFirst(n)
            return batch
        }
    }

    private let writer: any DatabaseWriter
    private let work: Work
    private let maxBatch: Int
    private let monitor: (any CommitMonitor)?
    private let state = Mutex(State())
    /// Transactions committed so far (for tests and diagnostics).
    private let batches = Atomic<Int>(0)
    var committedBatches: Int { batches.load(ordering: .relaxed) }
    /// Writes waiting for a transaction (for tests and diagnostics).
    var queuedWrites: Int { state.withLock { $0.queue.count } }

    init(writer: any DatabaseWriter, maxBatch: Int = 512, monitor: (any CommitMonitor)? = nil, work: @escaping Work) {
        self.writer = writer
        self.work = work
        self.maxBatch = maxBatch
        self.monitor = monitor
    }

    func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let batch = state.withLock { s -> [Pending] in
                s.queue.append(Pending(input: input, continuation: continuation))
                guard !s.writing else { return [] }
                s.writing = true
                return s.next(max: maxBatch)
            }
            if !batch.isEmpty { write(batch) }
        }
    }

    /// Queues `batch` on the writer; its completion resumes the callers and queues the next batch.
    private func write(_ batch: [Pending]) {
        writer.asyncWriteWithoutTransaction { db in
            var batch = batch
            let results = self.commit(&batch, in: db)
            // A batch whose every write failed did not commit (or committed nothing).
            if case .failure(let error)? = results.first, results.allSatisfy({ (try? $0.get()) == nil }) {
                self.monitor?.failed(error)
            } else {
                self.monitor?.committed()
            }
            for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
            let next = self.state.withLock { $0.next(max: self.maxBatch) }
            if !next.isEmpty { self.write(next) }
        }
    }

    /// Writes the batch in one transaction, with the writes that arrive before its last one is
    /// written (appended to `batch`), and returns one result per write of `batch`.
    private func commit(_ batch: inout [Pending], in db: Database) -> [Result<Output, any Error>] {
        do {
            // Writes almost never throw (a rejected call is a result, not an error), so write the
            // batch plainly first: savepoints would journal every page each write touches.
            // BEGIN and COMMIT as cached statements (GRDB's inTransaction prepares both for every
            // batch); on any error the transaction is rolled back and the batch retried below.
            try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").run([])
            var outputs: [Output] = []
            outputs.reserveCapacity(batch.count)
            do {
                // Once: a transaction that kept taking arrivals would keep its first callers waiting.
                var joined = false
                while outputs.count < batch.count {
                    outputs.append(try work(batch[outputs.count].input, db))
                    if outputs.count == batch.count, !joined {
                        joined = true
                        batch += state.withLock { $0.take(max: maxBatch - batch.count) }
                    }
                }
                try monitor?.beforeCommit()
                try db.cachedStatement(sql: "COMMIT TRANSACTION").run([])
            } catch {
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
            batches.add(1, ordering: .relaxed)
            return outputs.map { .success($0) }
        } catch let error as StoreError where error.code == .databaseFileChanged {
            // The monitor refused the commit: writing the batch again cannot help.
            return batch.map { _ in .failure(error) }
        } catch where batch.count > 1 {
            // Something failed and the whole transaction rolled back: write the batch again with
            // a savepoint per input, so only the inputs that fail get the error.
            do {
                var results: [Result<Output, any Error>] = []
                try db.inTransaction(.immediate) {
                    results = batch.map(\.input).map { input in
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
                    try monitor?.beforeCommit()
                    return .commit
                }
                batches.add(1, ordering: .relaxed)
                return results
            } catch {
                return batch.map { _ in .failure(error) }
            }
        } catch {
            return [.failure(error)]
        }
    }
}
