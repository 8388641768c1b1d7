import Foundation
import Logging

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

    static func quote(_ s: String) -> String {
        let needsQuotes = s.isEmpty || s.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.isNewline }
        guard needsQuotes else { return s }
        let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        return StatusSyncStoreTime.rfc3339(Int64(tv.tv_sec) * 1000 + Int64(tv.tv_usec) / 1000)
    }
}

import StatusSyncStore
typealias StatusSyncStoreTime = Timestamp
