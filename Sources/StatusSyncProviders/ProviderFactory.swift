import Foundation
import StatusSyncCore

/// Builds the configured providers, reading their tokens.
public enum ProviderFactory {
    /// The provider kinds this build can deliver to.
    public static let supportedKinds: Set<ProviderKind> = [.github]

    public static func make(_ configs: [ProviderConfig], http: ProviderHTTPClient,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> [any StatusProvider] {
        var providers: [any StatusProvider] = []
        for config in configs {
            let token = try config.loadToken(environment: environment)
            switch config.kind {
            case .github:
                providers.append(GitHubProvider(name: config.name, baseURL: config.baseURL, token: token, pacing: config.pacing, http: http))
            case .gitlab, .gitea, .bitbucketCloud, .bitbucketDC:
                throw ConfigError("provider \(config.name): kind \(config.kind.rawValue) is not supported by this build yet; use kind github")
            }
        }
        return providers
    }
}
