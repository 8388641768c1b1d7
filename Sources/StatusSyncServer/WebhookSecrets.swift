import Foundation
import StatusSyncCore
import StatusSyncProviders
import Synchronization

/// The github providers' webhook secrets (`webhookSecretFile`), which sign GitHub's deliveries
/// (docs/design.md#re-run). Read at start, where a missing or empty file is a config error, and
/// again, at most once a second, when a signed delivery matches none: a secret rotated in the
/// GitHub App and in its mounted file is taken without a restart. A file that cannot be read
/// then keeps the secret read before.
public final class WebhookSecrets: Sendable {
    public struct Source: Sendable {
        public var provider: String
        public var file: String
        public init(provider: String, file: String) {
            self.provider = provider
            self.file = file
        }
    }

    private struct Loaded {
        var secrets: [(provider: String, secret: String)]
        var at: ContinuousClock.Instant
    }

    private let sources: [Source]
    private let loaded: Mutex<Loaded>
    /// The shortest time between two reads of the files.
    let reloadInterval: Duration

    public init(_ sources: [Source], reloadInterval: Duration = .seconds(1)) throws(ConfigError) {
        self.sources = sources
        self.reloadInterval = reloadInterval
        var secrets: [(provider: String, secret: String)] = []
        for source in sources {
            secrets.append((source.provider, try SecretFile.read(source.file, what: "providers \(source.provider) webhookSecretFile")))
        }
        self.loaded = Mutex(Loaded(secrets: secrets, at: .now))
    }

    public var isEmpty: Bool { sources.isEmpty }
    public var providers: [String] { sources.map(\.provider) }

    /// The provider whose secret makes `signature` the HMAC of `body`, or nil (HTTP 401).
    func provider(signing body: Data, signature: String?) -> String? {
        guard let signature else { return nil }
        if let found = Self.match(signature, body, loaded.withLock { $0.secrets }) { return found }
        let reload = loaded.withLock { l -> Bool in
            guard ContinuousClock.now - l.at >= reloadInterval else { return false }
            l.at = .now
            return true
        }
        guard reload else { return nil }
        let fresh = loaded.withLock { l -> [(provider: String, secret: String)] in
            for (i, source) in sources.enumerated() {
                if let secret = try? SecretFile.read(source.file, what: "providers \(source.provider) webhookSecretFile") {
                    l.secrets[i].secret = secret
                }
            }
            return l.secrets
        }
        return Self.match(signature, body, fresh)
    }

    private static func match(_ signature: String, _ body: Data, _ secrets: [(provider: String, secret: String)]) -> String? {
        secrets.first { GitHubWebhook.verify(signature: signature, body: body, secret: $0.secret) }?.provider
    }
}
