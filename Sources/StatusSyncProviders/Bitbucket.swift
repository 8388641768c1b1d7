import StatusSyncCore

/// What Bitbucket Cloud and Data Center share: build-status keys, states and token handling.
enum Bitbucket {
    static let maxKeyLength = 40

    /// The build status `key`: the context when it fits in 40 characters, else a stable shortened
    /// form with a hash suffix (docs/provider-matrix.md#description-limits), so one context is always one key.
    static func key(_ context: String) -> String {
        guard context.count > maxKeyLength else { return context }
        let digest = String(fnv1a64(context), radix: 16)
        let hash = String(repeating: "0", count: 16 - digest.count) + digest
        return String(context.prefix(maxKeyLength - 17)) + "-" + hash
    }

    /// The state for a neutral state (docs/provider-matrix.md#provider-states); only `cancelled` differs between Cloud and Data Center.
    static func state(for state: NeutralState, cancelled: String) -> String {
        switch state {
        case .pending, .running: return "INPROGRESS"
        case .success, .skipped: return "SUCCESSFUL"
        case .failure, .error: return "FAILED"
        case .cancelled: return cancelled
        }
    }

    /// FNV-1a, 64 bits, over the UTF-8 bytes.
    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// `Authorization` for a Bitbucket token: `user:app-password` is Basic, anything else Bearer.
    static func authorization(_ token: String) -> String {
        if token.contains(":") { return "Basic " + base64(Array(token.utf8)) }
        return "Bearer \(token)"
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : "=")
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : "=")
            i += 3
        }
        return out
    }
}
