import Foundation

extension JSONValue {
    /// Compact JSON with object keys sorted: two bodies that differ only in key order or spacing
    /// (the API server reorders plugin keys) have the same canonical text.
    public var canonicalText: String {
        var out = ""
        out.reserveCapacity(256)
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

    /// Appends `s` as a JSON string literal (escaping quotes, backslashes and control characters).
    public static func writeQuoted(_ s: String, into out: inout String) {
        out += "\""
        let special: (UInt8) -> Bool = { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
        // Scanned through a pointer: this runs for every string of every reply and canonical body.
        let needsEscape = s.utf8.withContiguousStorageIfAvailable { $0.contains(where: special) } ?? s.utf8.contains(where: special)
        guard needsEscape else {
            out += s
            out += "\""
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count + 8)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case 0x22: bytes += [0x5C, 0x22]
            case 0x5C: bytes += [0x5C, 0x5C]
            case 0x0A: bytes += [0x5C, UInt8(ascii: "n")]
            case 0x0D: bytes += [0x5C, UInt8(ascii: "r")]
            case 0x09: bytes += [0x5C, UInt8(ascii: "t")]
            case let c where c < 0x20:
                bytes += [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            default: bytes.append(b)
            }
        }
        out += String(decoding: bytes, as: UTF8.self)
        out += "\""
    }
}
