import GRDB
import GRDBSQLite

/// A value bound to a statement run through `Statement.run(_:row:)`.
enum SQLArgument: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)

    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    init(_ value: Bool) { self = .integer(value ? 1 : 0) }
}

/// The current row of a statement run through `Statement.run(_:row:)`, read by column index.
struct RawRow {
    let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : sqlite3_column_int64(statement, column)
    }

    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}

extension Statement {
    /// Runs the statement with `arguments` through SQLite's C API, calling `row` for each result
    /// row until it returns false.
    ///
    /// This is the writer's hot path (the accept transaction): there GRDB's generic machinery
    /// (boxing every argument as `DatabaseValueConvertible`, row objects read by column name,
    /// statements looked up by building their SQL) cost more CPU than SQLite's own work, on the one
    /// thread every call waits for. The statement still belongs to GRDB (prepared, cached and
    /// finalized by it); it is reset before and after, so GRDB can run it again as usual.
    func run(_ arguments: [SQLArgument], row: (RawRow) throws -> Bool = { _ in false }) throws {
        let statement = sqliteStatement
        precondition(Int32(arguments.count) == sqlite3_bind_parameter_count(statement),
                     "\(arguments.count) arguments for \(sqlite3_bind_parameter_count(statement)) parameters in \(sql)")
        sqlite3_reset(statement)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        func step() throws {
            while true {
                let code = sqlite3_step(statement)
                switch code {
                case SQLITE_DONE:
                    return
                case SQLITE_ROW:
                    if try !row(RawRow(statement: statement)) { return }
                default:
                    throw error(code)
                }
            }
        }
        try arguments.withUnsafeBufferPointer { try bind($0, from: 0, statement, then: step) }
    }

    /// Binds `arguments` from position `first` on and runs `body` while they are bound.
    /// Text is bound without a copy (SQLITE_STATIC): each string's UTF-8 stays in place while the
    /// bindings are used, because `body` (the steps) runs inside every `withUTF8(of:)`; `run` clears the
    /// bindings before the statement can run again. (A copy would cost a malloc per text: Debian's
    /// SQLite is built with SQLITE_OMIT_LOOKASIDE.)
    private func bind(_ arguments: UnsafeBufferPointer<SQLArgument>, from first: Int, _ statement: OpaquePointer,
                      then body: () throws -> Void) throws {
        var position = first
        while position < arguments.count {
            let index = Int32(position + 1)
            let code: Int32
            switch arguments[position] {
            case .null:
                code = sqlite3_bind_null(statement, index)
            case .integer(let value):
                code = sqlite3_bind_int64(statement, index, value)
            case .text(let value):
                return try withUTF8(of: value) { bytes in
                    let code = sqlite3_bind_text(statement, index, bytes.baseAddress ?? empty.utf8Start, Int32(bytes.count), nil)
                    guard code == SQLITE_OK else { throw error(code) }
                    try bind(arguments, from: position + 1, statement, then: body)
                }
            }
            guard code == SQLITE_OK else { throw error(code) }
            position += 1
        }
        try body()
    }

    /// Calls `body` with the string's UTF-8 where it is stored (a copy only for a string that is
    /// not stored as contiguous UTF-8, which native strings always are).
    private func withUTF8<R>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        if let result = try text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return try copy.withUTF8(body)
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = sqlite3_db_handle(sqliteStatement).flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

/// Bytes for a zero-length text (a nil pointer would bind NULL instead of ''): a constant's.
private let empty: StaticString = ""

extension SQLArgument {
    /// The same value for GRDB's own API.
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let value): value.databaseValue
        case .text(let value): value.databaseValue
        }
    }
}
