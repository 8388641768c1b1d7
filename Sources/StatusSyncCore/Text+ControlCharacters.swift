/// Control characters made visible, for text that reaches a terminal or a log line: a value from
/// outside (a workflow name, a context, a provider's message) must not move the cursor, clear a
/// line or start a new one (docs/design.md#display-escaping).
extension String {
    /// This text with every control character (U+0000–U+001F, U+007F–U+009F) and the Unicode line
    /// and paragraph separators written as an escape: `\n`, `\r`, `\t`, `\x1b`, `\u2028`.
    public var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: \.needsEscapeOnDisplay) else { return self }
        var out = ""
        out.reserveCapacity(utf8.count + 8)
        for scalar in unicodeScalars {
            guard scalar.needsEscapeOnDisplay else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                out += scalar.value < 0x100 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u" + hex
            }
        }
        return out
    }
}

extension Unicode.Scalar {
    /// A C0 or C1 control character, DEL, or U+2028/U+2029 (which some terminals and log viewers
    /// treat as line breaks).
    public var needsEscapeOnDisplay: Bool {
        value < 0x20 || (value >= 0x7F && value <= 0x9F) || value == 0x2028 || value == 0x2029
    }
}
