import Foundation

/// A duration written as in the config and CLI: `500ms`, `10s`, `5m`, `2h`, `30d` (combinations
/// such as `1h30m` too).
public struct ConfigDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> ConfigDuration { ConfigDuration(milliseconds: s * 1000) }

    public var seconds: Double { Double(milliseconds) / 1000 }
    public var duration: Duration { .milliseconds(milliseconds) }

    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty else { return nil }
        var total: Int64 = 0
        var digits = ""
        var unit = ""
        var sawPart = false
        func flush() -> Bool {
            guard let n = Int64(digits) else { return false }
            let factor: Int64
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return false
            }
            let (product, overflow) = n.multipliedReportingOverflow(by: factor)
            guard !overflow else { return false }
            total += product
            digits = ""
            unit = ""
            sawPart = true
            return true
        }
        for ch in t {
            if ch.isASCII, ch.isNumber {
                if !unit.isEmpty { guard flush() else { return nil } }
                digits.append(ch)
            } else if ch.isLetter {
                guard !digits.isEmpty else { return nil }
                unit.append(ch)
            } else {
                return nil
            }
        }
        guard !digits.isEmpty, flush(), sawPart else { return nil }
        self.milliseconds = total
    }

    /// The shortest exact spelling: `500ms`, `10s`, `5m`, `2h`, `30d`, `1h30m`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds
        var out = ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            let n = rest / size
            if n > 0 {
                out += "\(n)\(unit)"
                rest -= n * size
            }
        }
        return out
    }

    public static func < (a: ConfigDuration, b: ConfigDuration) -> Bool { a.milliseconds < b.milliseconds }

    public static let syntaxHelp = "a duration such as 500ms, 10s, 5m, 2h or 30d"
}
