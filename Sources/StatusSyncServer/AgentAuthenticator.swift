import Foundation
import StatusSyncCore
import Synchronization

/// Checks `Authorization: Bearer <token>` against `agentTokenFile` (the token the Argo agent
/// writes to /var/run/argo/token). Constant-time comparison; the file is re-read when a token does
/// not match, since the init container may have rewritten it.
public final class AgentAuthenticator: Sendable {
    let path: String
    private let token: Mutex<String>

    public init(tokenFile path: String) throws(ConfigError) {
        self.path = path
        self.token = Mutex(try SecretFile.read(path, what: "agentTokenFile"))
    }

    public func isAuthorized(_ header: String?) -> Bool {
        guard let header else { return false }
        let presented = Self.bearer(header)
        if Self.constantTimeEquals(presented, token.withLock { $0 }) { return true }
        guard let fresh = try? SecretFile.read(path, what: "agentTokenFile") else { return false }
        token.withLock { $0 = fresh }
        return Self.constantTimeEquals(presented, fresh)
    }

    static func bearer(_ header: String) -> String {
        let trimmed = header.trimmed
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return "" }
        return String(trimmed.dropFirst(7)).trimmed
    }

    /// Compares every byte whatever the first difference, so timing does not reveal the token.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var diff = UInt8(truncatingIfNeeded: x.count ^ y.count)
        diff |= UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0 && !b.isEmpty
    }
}
