import Foundation
import StatusSyncCore

/// Every provider kind of this build (generated from `Kinds/*Provider.swift`).
public enum ProviderRegistry {
    /// The kinds and their traits, for config parsing and plugin-body validation.
    public static let catalog = ProviderCatalog(RegisteredProviders.all.map { $0.traits })

    public static func type(forKind kind: String) -> (any ProviderType.Type)? {
        RegisteredProviders.all.first { $0.traits.kind == kind }
    }

    /// Clients for the configured providers, reading their tokens.
    public static func make(_ configs: [ProviderConfig], http: ProviderHTTPClient,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> [any StatusProvider] {
        var providers: [any StatusProvider] = []
        for config in configs {
            guard let type = type(forKind: config.kind) else {
                throw ConfigError("provider \(config.name): kind \(config.kind) is not known; use one of \(catalog.kindList)")
            }
            let token = try config.loadToken(environment: environment)
            providers.append(try type.make(config: config, token: token, http: http))
        }
        return providers
    }
}
