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
        try bind(arguments[...], from: 1, statement) {
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
    }

    /// Binds `arguments` to the parameters from `index` on and runs `body` while they are bound.
    /// Text is bound without a copy (SQLITE_STATIC): each string's UTF-8 stays in place while the
    /// bindings are used, because `body` (the steps) runs inside every `withUTF8`; `run` clears the
    /// bindings before the statement can run again. (A copy would cost a malloc per text: Debian's
    /// SQLite is built with SQLITE_OMIT_LOOKASIDE.)
    private func bind(_ arguments: ArraySlice<SQLArgument>, from index: Int32, _ statement: OpaquePointer,
                      then body: () throws -> Void) throws {
        var index = index
        var rest = arguments
        while let argument = rest.popFirst() {
            let code: Int32
            switch argument {
            case .null:
                code = sqlite3_bind_null(statement, index)
            case .integer(let value):
                code = sqlite3_bind_int64(statement, index, value)
            case .text(var value):
                let next = index + 1
                return try value.withUTF8 { bytes in
                    let code = sqlite3_bind_text(statement, index, bytes.baseAddress ?? emptyText, Int32(bytes.count), nil)
                    guard code == SQLITE_OK else { throw error(code) }
                    try bind(rest, from: next, statement, then: body)
                }
            }
            guard code == SQLITE_OK else { throw error(code) }
            index += 1
        }
        try body()
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = sqlite3_db_handle(sqliteStatement).flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

/// A zero-length text's bytes (a nil pointer would bind NULL instead of '').
nonisolated(unsafe) private let emptyText: UnsafePointer<UInt8> = {
    let byte = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    byte.initialize(to: 0)
    return UnsafePointer(byte)
}()

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
