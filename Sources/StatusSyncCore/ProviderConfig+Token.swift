import Foundation

extension ProviderConfig {
    /// Reads the provider's token from its file or environment variable. The token is never
    /// logged, stored or echoed; errors name only where it was looked for.
    public func loadToken(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> String {
        switch token {
        case .none, .githubApp:
            return ""
        case .environment(let name):
            guard let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                throw ConfigError("provider \(self.name): environment variable \(name) is not set or empty; export the token or use tokenFile")
            }
            return value
        case .file(let path):
            return try SecretFile.read(path, what: "provider \(self.name) tokenFile")
        }
    }
}

extension GitHubAppCredentials {
    /// The app's private key, PEM text, from its file or environment variable. A variable whose
    /// line breaks were written as `\n` (one line, as in .env files) is accepted too.
    public func loadPrivateKeyPEM(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> String {
        switch privateKey {
        case .file(let path):
            return try SecretFile.read(path, what: "app privateKeyFile")
        case .environment(let name):
            guard var pem = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !pem.isEmpty else {
                throw ConfigError("app privateKeyEnv: environment variable \(name) is not set or empty; set it to the app's private key (PEM), e.g. from a Secret with secretKeyRef")
            }
            if !pem.contains("\n"), pem.contains("\\n") { pem = pem.replacingOccurrences(of: "\\n", with: "\n") }
            return pem
        }
    }
}

/// Reads a secret file (token), trimmed of surrounding whitespace.
public enum SecretFile {
    public static func read(_ path: String, what: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ConfigError("\(what) \(path) \(exists ? "is not readable by this user (check its mode and owner)" : "does not exist")")
        }
        guard let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw ConfigError("\(what) \(path) is empty; write the token into it")
        }
        return text
    }
}
