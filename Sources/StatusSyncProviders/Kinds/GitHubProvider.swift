import Foundation
import NIOHTTP1
import StatusSyncCore

/// GitHub and GitHub Enterprise Server commit statuses (docs/provider-matrix.md#github).
public struct GitHubProvider: ProviderType {
    public static let traits = ProviderTraits(
        kind: "github", defaultBaseURL: "https://api.github.com",
        baseURLHelp: "the API root, https://api.github.com or https://HOST/api/v3 for GitHub Enterprise Server",
        defaultPacing: Pacing(burst: 20, perMinute: 80), supportsAppAuth: true, supportsCheckRuns: true
    )

    /// GitHub keeps 140 characters of a description.
    static let descriptionLimit = 140

    public static func providerState(for state: NeutralState) -> String {
        switch state {
        case .pending, .running: return "pending"
        case .success, .skipped: return "success"
        case .failure: return "failure"
        case .error, .cancelled: return "error"
        }
    }

    public static func make(config: ProviderConfig, token: String, http: ProviderHTTPClient) throws(ConfigError) -> GitHubProvider {
        if case .githubApp(let app) = config.token {
            return try GitHubProvider(name: config.name, baseURL: config.baseURL, app: app, pacing: config.pacing, http: http)
        }
        return GitHubProvider(name: config.name, baseURL: config.baseURL, token: token, pacing: config.pacing, http: http)
    }

    public let name: String
    public let pacing: Pacing?
    /// The API root: `https://api.github.com` or `https://HOST/api/v3`.
    let baseURL: String
    let call: ProviderCall
    /// Installation tokens when the provider authenticates as a GitHub App.
    let app: GitHubAppTokens?

    public init(name: String, baseURL: String, token: String, pacing: Pacing?, http: ProviderHTTPClient,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.name = name
        self.baseURL = ProviderCall.root(baseURL)
        self.pacing = pacing
        self.call = ProviderCall(http: http, token: token, now: now, label: "GitHub", defaultRateLimitWait: Self.secondaryLimitWait,
                                 remainingHeader: "x-ratelimit-remaining", resetHeader: "x-ratelimit-reset")
        self.app = nil
    }

    /// A provider authenticating as a GitHub App installation.
    public init(name: String, baseURL: String, app credentials: GitHubAppCredentials, pacing: Pacing?, http: ProviderHTTPClient,
                now: @escaping @Sendable () -> Date = { Date() }) throws(ConfigError) {
        self.name = name
        self.baseURL = ProviderCall.root(baseURL)
        self.pacing = pacing
        let secrets = Secrets()
        self.call = ProviderCall(http: http, token: "", now: now, label: "GitHub", defaultRateLimitWait: Self.secondaryLimitWait,
                                 remainingHeader: "x-ratelimit-remaining", resetHeader: "x-ratelimit-reset", secrets: secrets,
                                 credentialHint: "the installation token was refused even after a fresh one was minted; check app: (appID, installationID) and that the App is still installed")
        self.app = try GitHubAppTokens(credentials: credentials, baseURL: self.baseURL, http: http, secrets: secrets, now: now)
    }

    /// GitHub's secondary rate limit gives no wait; the documented minimum is one minute.
    static let secondaryLimitWait: Duration = .seconds(60)

    static func headers(token: String) -> [(String, String)] {
        [
            ("Authorization", "Bearer \(token)"),
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
            ("User-Agent", "statussync"),
        ]
    }

    /// Runs one request with the current credentials. A GitHub App's installation token that
    /// GitHub rejects (401) is refreshed once and the request made again.
    func authorized(_ request: ([(String, String)]) async -> (CallOutcome, ProviderHTTPClient.Response?)) async -> (CallOutcome, ProviderHTTPClient.Response?) {
        guard let app else { return await request(Self.headers(token: call.token)) }
        switch await app.token() {
        case .failure(let outcome): return (outcome, nil)
        case .success(let token):
            let first = await request(Self.headers(token: token))
            guard first.0.httpStatus == 401 else { return first }
            switch await app.token(refresh: true) {
            case .failure(let outcome): return (outcome, nil)
            case .success(let fresh): return await request(Self.headers(token: fresh))
            }
        }
    }

    public func postStatus(_ status: StatusDelivery) async -> CallOutcome {
        var body: [String: JSONValue] = [
            "state": .string(Self.providerState(for: status.state)),
            "context": .string(status.context),
            "description": .string(status.description.truncated(toScalars: Self.descriptionLimit)),
        ]
        if let url = status.targetURL { body["target_url"] = .string(url) }
        let (outcome, _) = await authorized { headers in
            await call.send(.POST, "\(baseURL)/repos/\(status.repo)/statuses/\(status.sha)", headers: headers, json: .object(body),
                            notFound: "repository \(status.repo) not found, or the token cannot see it (GitHub answers 404 for private repositories it may not access)",
                            special: rateLimit)
        }
        return outcome
    }

    public func resolvePullRequestHead(repo: String, pr: Int) async -> (CallOutcome, PullRequestHead?) {
        let (outcome, response) = await authorized { headers in
            await call.send(.GET, "\(baseURL)/repos/\(repo)/pulls/\(pr)", headers: headers, notFound: "pull request #\(pr) not found in \(repo)", special: rateLimit)
        }
        return ProviderCall.head(outcome, response, what: "pull request #\(pr)", sha: { $0["head"]?["sha"]?.stringValue }, branch: { $0["head"]?["ref"]?.stringValue })
    }

    public func identify() async -> (CallOutcome, identity: String?) {
        if let app {
            // An installation token cannot read /user; minting one proves the app's key and installation.
            switch await app.token(refresh: true) {
            case .failure(let outcome): return (outcome, nil)
            case .success:
                return (CallOutcome(errorClass: .ok, httpStatus: 201, message: nil, startedAt: call.now(), duration: .zero),
                        "GitHub App \(app.credentials.appID) installation \(app.credentials.installationID)")
            }
        }
        let (outcome, response) = await call.send(.GET, "\(baseURL)/user", headers: Self.headers(token: call.token),
                                                  notFound: "\(baseURL)/user not found: is baseURL the API root (https://api.github.com or https://HOST/api/v3)?",
                                                  special: rateLimit)
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        return (outcome, (try? JSONValue.parse(response.body))?["login"]?.stringValue ?? "(unknown login)")
    }

    public func upsertComment(repo: String, comment: StickyComment) async -> CallOutcome {
        let issues = "\(baseURL)/repos/\(repo)/issues"
        let missing = "pull request #\(comment.pr) not found in \(repo)"
        let text: JSONValue = .object(["body": .string(comment.text)])
        return await CommentUpsert.run(comment, page: { n in
            let (outcome, response) = await authorized { headers in
                await call.send(.GET, "\(issues)/\(comment.pr)/comments?per_page=100&page=\(n)", headers: headers, notFound: missing, special: rateLimit)
            }
            guard outcome.errorClass == .ok, let response else { return (outcome, [], false) }
            guard case .array(let items)? = try? JSONValue.parse(response.body) else { return (.unexpected("comments answer is not a list", after: outcome), [], false) }
            let comments = items.compactMap { c in c["id"]?.idText.map { ExistingComment(id: $0, body: c["body"]?.stringValue ?? "") } }
            return (nil, comments, items.count == 100)
        }, edit: { existing in
            await authorized { headers in
                await call.send(.PATCH, "\(issues)/comments/\(existing.id)", headers: headers, json: text, notFound: "comment \(existing.id) vanished", special: rateLimit)
            }.0
        }, create: {
            await authorized { headers in
                await call.send(.POST, "\(issues)/\(comment.pr)/comments", headers: headers, json: text, notFound: missing, special: rateLimit)
            }.0
        })
    }

    /// GitHub signals rate limits with 429 and with 403 plus a rate-limit header or message
    /// (docs/provider-matrix.md#rate-limits): those wait (Retry-After, reset time, or at least a minute).
    var rateLimit: ProviderCall.Classify {
        let call = self.call
        return { response, message in
            guard response.status == 403 || response.status == 429 else { return nil }
            let wait = call.rateLimitWait(response)
            let mentionsRateLimit = message?.lowercased().contains("rate limit") ?? false
            guard response.status == 429 || wait != nil || mentionsRateLimit || response.header("retry-after") != nil else { return nil }
            return (.rateLimited(wait: wait ?? Self.secondaryLimitWait), message ?? "rate limited")
        }
    }
}
