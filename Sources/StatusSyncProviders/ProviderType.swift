import StatusSyncCore

/// A provider kind: its client type, which also declares the kind's traits and state mapping.
/// Put the type in `Kinds/<Name>Provider.swift`; the build registers it (RegisterProviders).
public protocol ProviderType: StatusProvider {
    /// `kind` in the config and what validation and config parsing need to know.
    static var traits: ProviderTraits { get }
    /// The provider's state for a neutral state (docs/provider-matrix.md#provider-states).
    static func providerState(for state: NeutralState) -> String
    /// A client for one configured provider, with its token already read.
    static func make(config: ProviderConfig, token: String, http: ProviderHTTPClient) throws(ConfigError) -> Self
}

extension ProviderType {
    public var kind: String { Self.traits.kind }
}
