import Foundation

extension String {
    /// Trims to at most `limit` Unicode scalars, with a final `…` inside the limit when cut.
    public func truncated(toScalars limit: Int) -> String {
        let scalars = unicodeScalars
        guard scalars.count > limit else { return self }
        guard limit > 0 else { return "" }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars.prefix(limit - 1))
        out.append("…")
        return String(out)
    }

    /// At most `limit` characters of text for logs and error excerpts, on one line.
    public func excerpt(_ limit: Int = 300) -> String {
        let flat = self.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
