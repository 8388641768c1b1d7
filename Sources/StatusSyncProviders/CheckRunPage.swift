import StatusSyncCore

/// A check run's page below its title: statussync's header, the author's `summary`, then the
/// failed steps as a table, cut to what GitHub takes (docs/design.md#check-run-page).
public enum CheckRunPage {
    /// GitHub refuses an `output.summary` or `output.text` over 65,535 characters, and over
    /// 65,535 UTF-8 bytes; a UTF-8 byte count bounds both.
    public static let maxBytes = 65_535
    /// Rows of the failed-steps table; the rest are counted in a last line.
    public static let maxRows = 50
    /// A table cell's longest text, in Unicode scalars (an error message can be a whole log).
    static let maxCell = 1_000

    /// The Markdown summary: `header`, then the author's text, then the failed-steps table.
    public static func summary(header: String, input: CheckPageInput) -> String {
        var parts = [header]
        if let text = input.summary { parts.append(text) }
        if let steps = input.failures, !steps.isEmpty { parts.append(table(steps)) }
        return fitted(parts.joined(separator: "\n\n"))
    }

    /// `### Failed steps` and a table of step, template, phase and message; at most `maxRows`
    /// rows, then "… and N more".
    static func table(_ steps: [FailedStep]) -> String {
        var lines = [
            "### Failed steps", "",
            "| Step | Template | Phase | Message |",
            "| --- | --- | --- | --- |",
        ]
        for step in steps.prefix(maxRows) {
            lines.append("| \(cell(step.step)) | \(cell(step.template)) | \(cell(step.phase)) | \(cell(step.message)) |")
        }
        if steps.count > maxRows {
            lines.append("")
            lines.append("… and \(steps.count - maxRows) more")
        }
        return lines.joined(separator: "\n")
    }

    /// One table cell: on one line, with its `|` escaped so it cannot end the cell.
    static func cell(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var lastWasBreak = false
        for scalar in text.truncated(toScalars: maxCell).unicodeScalars {
            switch scalar {
            case "\n", "\r":
                if !lastWasBreak { out += "<br>" }
                lastWasBreak = true
                continue
            case "|": out += "\\|"
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(scalar)
            }
            lastWasBreak = false
        }
        let trimmed = out.trimmed
        return trimmed.isEmpty ? "–" : trimmed
    }

    /// `text` when GitHub takes it; else cut on a character boundary, with a last line saying how
    /// many characters were cut, the whole within `maxBytes` UTF-8 bytes.
    public static func fitted(_ text: String, maxBytes: Int = maxBytes) -> String {
        guard text.utf8.count > maxBytes else { return text }
        func note(_ cut: Int) -> String { "\n\n*… \(cut) more characters cut: GitHub shows at most 65,535.*" }
        let total = text.count
        // The note for the whole text is at least as long as the real one.
        let budget = maxBytes - note(total).utf8.count
        var bytes = 0
        var end = text.startIndex
        var kept = 0
        for index in text.indices {
            let size = text[index].utf8.count
            if bytes + size > budget { break }
            bytes += size
            kept += 1
            end = text.index(after: index)
        }
        return String(text[..<end]) + note(total - kept)
    }
}
