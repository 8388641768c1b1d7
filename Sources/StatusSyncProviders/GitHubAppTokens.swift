import Crypto
import CryptoExtras
import Foundation
import NIOHTTP1
import StatusSyncCore

/// GitHub App authentication (docs/provider-matrix.md#github): an RS256 JWT signed with the app's private key
/// buys an installation token, cached until five minutes before it expires and refreshed once
/// when GitHub answers 401.
actor GitHubAppTokens {
    let credentials: GitHubAppCredentials
    private let key: _RSA.Signing.PrivateKey
    private let baseURL: String
    private let http: ProviderHTTPClient
    private let now: @Sendable () -> Date
    let secrets: Secrets
    private var cached: (token: String, expiresAt: Date)?

    /// How long before expiry a cached token is replaced.
    static let refreshMargin: TimeInterval = 300

    init(credentials: GitHubAppCredentials, baseURL: String, http: ProviderHTTPClient, secrets: Secrets,
         now: @escaping @Sendable () -> Date,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) {
        let pem = try credentials.loadPrivateKeyPEM(environment: environment)
        do {
            self.key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw ConfigError("app \(credentials.privateKey) is not an RSA private key in PEM form (download it from the GitHub App's settings)")
        }
        self.credentials = credentials
        self.baseURL = baseURL
        self.http = http
        self.secrets = secrets
        self.now = now
    }

    /// The JWT that authenticates as the app: `iat` 60 s in the past, `exp` 9 minutes ahead.
    func jwt() throws -> String {
        let issued = Int(now().timeIntervalSince1970) - 60
        let header = #"{"alg":"RS256","typ":"JWT"}"#
        let payload = #"{"exp":\#(issued + 600),"iat":\#(issued),"iss":"\#(credentials.appID)"}"#
        let signingInput = Self.base64URL(Data(header.utf8)) + "." + Self.base64URL(Data(payload.utf8))
        let signature = try key.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        let token = signingInput + "." + Self.base64URL(signature.rawRepresentation)
        secrets.add(token)
        return token
    }

    /// The current installation token, minting one when there is none, it is about to expire, or
    /// `refresh` says the last one was rejected. On failure, the outcome of the token request.
    func token(refresh: Bool = false) async -> Result<String, CallOutcome> {
        if !refresh, let cached, cached.expiresAt.timeIntervalSince(now()) > Self.refreshMargin { return .success(cached.token) }
        let started = now()
        let jwt: String
        do {
            jwt = try self.jwt()
        } catch {
            return .failure(CallOutcome(errorClass: .permanent, httpStatus: nil, message: "cannot sign the GitHub App JWT: \(error)", startedAt: started, duration: .zero))
        }
        let call = ProviderCall(http: http, token: jwt, now: now, label: "GitHub", defaultRateLimitWait: .seconds(60),
                                remainingHeader: "x-ratelimit-remaining", resetHeader: "x-ratelimit-reset", secrets: secrets)
        let headers = [("Authorization", "Bearer \(jwt)"), ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28"), ("User-Agent", "statussync")]
        var (outcome, response) = await call.send(.POST, "\(baseURL)/app/installations/\(credentials.installationID)/access_tokens", headers: headers,
                                                  notFound: "GitHub App installation \(credentials.installationID) not found for app \(credentials.appID)")
        guard outcome.errorClass == .ok, let response else {
            if outcome.errorClass == .permanent, outcome.httpStatus == 401 {
                outcome.message = "GitHub rejected the app's JWT (app \(credentials.appID)): check appID and \(credentials.privateKey) (\(outcome.message ?? "401"))"
            }
            return .failure(outcome)
        }
        let json = try? JSONValue.parse(response.body)
        guard let token = json?["token"]?.stringValue, !token.isEmpty else {
            return .failure(.unexpected("the installation token answer has no token", after: outcome))
        }
        let expires = json?["expires_at"]?.stringValue.flatMap { try? Date($0, strategy: .iso8601) } ?? now().addingTimeInterval(3600)
        secrets.add(token)
        cached = (token, expires)
        return .success(token)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
