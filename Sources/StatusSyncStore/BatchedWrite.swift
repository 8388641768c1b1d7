import GRDB
import StatusSyncCore

/// A write that shares group-commit transactions with whatever else is being written at the same
/// time: accepted calls and finished delivery attempts commit together (one fsync for both).
enum BatchedWrite: Sendable {
    case accept(IncomingCall)
    case finish(SQLiteStore.FinishRequest)

    /// The result of one `BatchedWrite`, of the matching case.
    enum Outcome: Sendable {
        case accepted(AcceptResult)
        case finished(DeliveryStatus)
    }

    func perform(in db: Database) throws -> Outcome {
        switch self {
        case .accept(let call): .accepted(try SQLiteStore.accept(call, in: db))
        case .finish(let request): .finished(try SQLiteStore.finish(request, in: db))
        }
    }
}
