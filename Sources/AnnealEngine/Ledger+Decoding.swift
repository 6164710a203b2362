import GRDB

/// The ledger is a file users can open with `sqlite3`; a value there can be NULL or of any
/// type, whatever the schema says. Every column is read through these checks, so a damaged
/// row is an error naming its table (exit 3), never a trap in GRDB's non-optional accessors.
struct LedgerDamage: Error, CustomStringConvertible {
    var table: String
    var column: String
    var found: String
    var expected: String

    var description: String {
        "table '\(table)' holds \(found) in column '\(column)' where \(expected) belongs; the ledger is damaged: move it aside (run history and metrics are lost, cached artifacts are not)"
    }
}

extension Row {
    func required<T: DatabaseValueConvertible>(_ column: String, in table: String) throws -> T {
        guard let value: T = try optional(column, in: table) else {
            throw LedgerDamage(table: table, column: column, found: "NULL", expected: Self.expected(T.self))
        }
        return value
    }

    func optional<T: DatabaseValueConvertible>(_ column: String, in table: String) throws -> T? {
        let value = try decode(DatabaseValue.self, forColumn: column)
        if value.isNull { return nil }
        guard let typed = T.fromDatabaseValue(value) else {
            throw LedgerDamage(table: table, column: column, found: Self.describe(value), expected: Self.expected(T.self))
        }
        return typed
    }

    private static func describe(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "NULL"
        case .int64(let i): "the integer \(i)"
        case .double(let d): "the real \(d)"
        case .string(let s): "the text '\(s.prefix(40))'"
        case .blob(let b): "a blob of \(b.count) bytes"
        }
    }

    private static func expected(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a text"
        case is Double.Type: "a number"
        default: "an integer"
        }
    }
}
