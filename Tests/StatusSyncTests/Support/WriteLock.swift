import Foundation
import GRDB

/// Holds the database's write lock from another connection (as a long transaction or a backup
/// would) until `release()`.
final class WriteLock: Sendable {
    private let queue: DatabaseQueue
    private let locked = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(path: String) throws {
        queue = try DatabaseQueue(path: path)
        DispatchQueue.global().async { [queue, locked, released, done] in
            try? queue.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                locked.signal()
                released.wait()
                try db.execute(sql: "ROLLBACK")
            }
            done.signal()
        }
        locked.wait()
    }

    func release() {
        released.signal()
        done.wait()
    }
}
