import Foundation
import GRDB
import Logging
import Synchronization

/// What the writer has seen lately: whether its last commit failed because the disk is full,
/// read-only or failing, and whether the database file is still the one it opened. `/readyz`
/// reads it (docs/design.md#database-identity).
final class WriteHealth: Sendable {
    /// How long a failed commit keeps `/readyz` failing when no later commit succeeds. Past it, the
    /// probe write of `/readyz` decides alone, so traffic comes back to test the disk again.
    static let failureMemory: Duration = .seconds(15)

    private struct State {
        var diskFailure: (at: ContinuousClock.Instant, message: String)?
        var reportedChange: DatabaseFileChange?
    }

    let path: String
    private let logger: Logger?
    private let state = Mutex(State())

    init(path: String, logger: Logger?) {
        self.path = path
        self.logger = logger
    }

    func committed() {
        state.withLock { $0.diskFailure = nil }
    }

    /// Records a commit that failed; only the disk's failures (full, read-only, I/O) count.
    func failed(_ error: any Error) {
        guard let error = error as? DatabaseError else { return }
        switch error.resultCode {
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN:
            let message = error.message ?? "\(error.resultCode)"
            state.withLock { $0.diskFailure = (ContinuousClock.now, message) }
        default:
            break
        }
    }

    /// The last commit's disk failure, while it is recent.
    var recentDiskFailure: String? {
        state.withLock { s in
            guard let failure = s.diskFailure, ContinuousClock.now - failure.at < Self.failureMemory else { return nil }
            return failure.message
        }
    }

    /// Logs a change of the database file once (and its end, if the file comes back).
    func report(_ change: DatabaseFileChange?) {
        let previous = state.withLock { s -> DatabaseFileChange?? in
            guard s.reportedChange != change else { return .none }
            defer { s.reportedChange = change }
            return .some(s.reportedChange)
        }
        guard case .some = previous else { return }
        if let change {
            logger?.critical("the database file was \(change.rawValue) while serve runs; answering 503 to every plugin call until the file is back (a restart would start an empty database)", metadata: ["database": "\(path)", "change": "\(change.rawValue)"])
        } else {
            logger?.notice("the database file is back; accepting plugin calls again", metadata: ["database": "\(path)"])
        }
    }
}
