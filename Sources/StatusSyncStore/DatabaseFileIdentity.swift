#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file a writer opened, told apart from whatever is at its path later.
///
/// SQLite keeps writing through its open descriptor after the file is deleted or replaced, and
/// every commit then lands in a file nobody will open again: acknowledged calls would be lost at
/// the next start. The writer compares the path with this identity before each commit
/// (docs/design.md#database-identity).
struct DatabaseFileIdentity: Sendable, Equatable {
    let device: UInt64
    let inode: UInt64

    /// What is at `path` now: nil when nothing is there (or it cannot be read).
    static func current(path: String) -> DatabaseFileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return DatabaseFileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// How `path` differs from this file now, or nil when it is still this file.
    func change(at path: String) -> DatabaseFileChange? {
        guard let now = Self.current(path: path) else { return .deleted }
        return now == self ? nil : .replaced
    }
}

/// What happened to the database file a writer opened.
public enum DatabaseFileChange: String, Sendable {
    /// Nothing is at its path any more (deleted, or renamed away).
    case deleted
    /// Another file is at its path.
    case replaced
}
