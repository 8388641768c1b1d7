import Foundation
import Logging
import StatusSyncCore

/// One line per event on stderr: `ts=… level=info msg="…" key=value …` (logfmt), so logs are
/// greppable and machine-readable. Metadata carries workflow and update ids; never tokens.
struct LogfmtHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    let label: String

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = "ts=\(Self.timestamp()) level=\(event.level.rawValue) msg=\(Self.quote(event.message.description))"
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.quote(merged[key]!.description))"
        }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// A logfmt value: bare when it can be, else quoted with `\` and `"` escaped and every control
    /// character written as an escape, so a value from outside cannot forge or hide a line.
    static func quote(_ s: String) -> String {
        let needsQuotes = s.isEmpty || s.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.needsEscapeOnDisplay
        }
        guard needsQuotes else { return s }
        let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped.escapingControlCharacters)\""
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        return Timestamp.rfc3339(Int64(tv.tv_sec) * 1000 + Int64(tv.tv_usec) / 1000)
    }
}
