import Foundation

extension JSONValue {
    /// Compact JSON with object keys sorted: two bodies that differ only in key order or spacing
    /// (the API server reorders plugin keys) have the same canonical text.
    public var canonicalText: String {
        var out = ""
        writeCanonical(into: &out)
        return out
    }

    private func writeCanonical(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 { out += String(Int64(n)) } else { out += String(n) }
        case .string(let s): JSONValue.writeQuoted(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.writeCanonical(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, key) in fields.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeQuoted(key, into: &out)
                out += ":"
                fields[key]!.writeCanonical(into: &out)
            }
            out += "}"
        }
    }

    public static func writeQuoted(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                out += "\\u" + String(format: "%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

