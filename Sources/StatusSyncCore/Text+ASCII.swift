/// Small text helpers on the accept path that avoid Foundation's CharacterSet bridging.
extension String {
    /// Without leading and trailing spaces, tabs and newlines.
    public var trimmed: String {
        // ASCII first: Unicode's property tables are only needed beyond it.
        let isSpace: (Unicode.Scalar) -> Bool = { $0.isASCII ? ($0 == " " || ($0.value >= 0x09 && $0.value <= 0x0D)) : $0.properties.isWhitespace }
        let scalars = unicodeScalars
        guard let first = scalars.first, let last = scalars.last else { return self }
        if !isSpace(first) && !isSpace(last) { return self }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = scalars.lastIndex(where: { !isSpace($0) })!
        return String(scalars[start...end])
    }

    /// Every byte is an ASCII character accepted by `allowed`.
    func allASCII(_ allowed: (UInt8) -> Bool) -> Bool {
        utf8.allSatisfy { $0 < 0x80 && allowed($0) }
    }
}

enum ASCII {
    static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }

    /// Letters, digits, `.`, `_`, `-`: what a repository path segment may contain.
    static func isRepoCharacter(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x2E || b == 0x5F || b == 0x2D
    }
}
