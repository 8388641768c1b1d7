/// A store problem with a message that says what to do about it.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case databaseMissing
        case notMigrated
        case schemaTooNew
        case durabilityNotGuaranteed
        case cannotOpen
        case notFound
        case migrationFailed
        /// The database file was deleted, renamed or replaced while open for writing.
        case databaseFileChanged
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
