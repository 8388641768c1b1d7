import Foundation
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
        if token.contains(":") { return "Basic " + Data(token.utf8).base64EncodedString() }
        return "Bearer \(token)"
    }
}
