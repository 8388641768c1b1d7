import Foundation
import NIOHTTP1
import StatusSyncCore

/// GitHub and GitHub Enterprise Server commit statuses (providers.md §2).
public struct GitHubProvider: StatusProvider {
    public let name: String
    public var kind: ProviderKind { .github }
    public let pacing: Pacing?
    /// The API root: `https://api.github.com` or `https://HOST/api/v3`.
    let baseURL: String
    let token: String
    let http: ProviderHTTPClient
    let now: @Sendable () -> Date

    public init(name: String, baseURL: String, token: String, pacing: Pacing?, http: ProviderHTTPClient,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.pacing = pacing
        self.http = http
        self.now = now
    }

    /// GitHub's secondary rate limit gives no wait; the documented minimum is one minute.
    static let secondaryLimitWait: Duration = .seconds(60)

    var headers: [(String, String)] {
        [
            ("Authorization", "Bearer \(token)"),
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
            ("User-Agent", "statussync"),
        ]
    }

    public func postStatus(_ status: StatusDelivery) async -> CallOutcome {
        var body: [String: JSONValue] = [
            "state": .string(kind.providerState(for: status.state)),
            "context": .string(status.context),
            "description": .string(status.description.truncated(toScalars: kind.descriptionLimit)),
        ]
        if let url = status.targetURL { body["target_url"] = .string(url) }
        let url = "\(baseURL)/repos/\(status.repo)/statuses/\(status.sha)"
        let started = now()
        let clock = ContinuousClock.now
        let result = await http.send(method: .POST, url: url, headers: headers + [("Content-Type", "application/json")],
                                     body: Data(JSONValue.object(body).canonicalText.utf8))
        return outcome(result, started: started, elapsed: ContinuousClock.now - clock, notFound: "repository \(status.repo) not found, or the token cannot see it (GitHub answers 404 for private repositories it may not access)")
    }

    public func resolvePullRequestHead(repo: String, pr: Int) async -> (CallOutcome, sha: String?) {
        let started = now()
        let clock = ContinuousClock.now
        let result = await http.send(method: .GET, url: "\(baseURL)/repos/\(repo)/pulls/\(pr)", headers: headers, body: nil)
        var outcome = self.outcome(result, started: started, elapsed: ContinuousClock.now - clock, notFound: "pull request #\(pr) not found in \(repo)")
        guard outcome.errorClass == .ok, case .success(let response) = result else { return (outcome, nil) }
        guard let sha = (try? JSONValue.parse(response.body))?["head"]?["sha"]?.stringValue, !sha.isEmpty else {
            outcome.errorClass = .transient
            outcome.message = "pull request #\(pr) answer has no head.sha"
            return (outcome, nil)
        }
        return (outcome, sha.lowercased())
    }

    public func identify() async -> (CallOutcome, identity: String?) {
        let started = now()
        let clock = ContinuousClock.now
        let result = await http.send(method: .GET, url: "\(baseURL)/user", headers: headers, body: nil)
        let outcome = self.outcome(result, started: started, elapsed: ContinuousClock.now - clock, notFound: "\(baseURL)/user not found: is baseURL the API root (https://api.github.com or https://HOST/api/v3)?")
        guard outcome.errorClass == .ok, case .success(let response) = result else { return (outcome, nil) }
        return (outcome, (try? JSONValue.parse(response.body))?["login"]?.stringValue ?? "(unknown login)")
    }

    func outcome(_ result: Result<ProviderHTTPClient.Response, ProviderHTTPClient.Failure>, started: Date, elapsed: Duration, notFound: String) -> CallOutcome {
        switch result {
        case .failure(.transport(let message)):
            return CallOutcome(errorClass: .transient, httpStatus: nil, message: message, startedAt: started, duration: elapsed)
        case .success(let response):
            var (errorClass, message) = Self.classify(response, now: now())
            if response.status == 404 { message = "\(notFound)\(message.map { " (\($0))" } ?? "")" }
            return CallOutcome(errorClass: errorClass, httpStatus: response.status, message: message.map(redact), startedAt: started, duration: elapsed)
        }
    }

    /// providers.md §9.1 for GitHub: 2xx ok; 429, and 403 with a rate-limit signal, rate-limited;
    /// 5xx and 408 transient; other statuses permanent with GitHub's message.
    static func classify(_ response: ProviderHTTPClient.Response, now: Date) -> (CallOutcome.Class, String?) {
        let status = response.status
        if (200..<300).contains(status) { return (.ok, nil) }
        let message = errorMessage(response)
        let headerWait = RateLimitHeaders.wait(header: response.header, remainingName: "x-ratelimit-remaining", resetName: "x-ratelimit-reset", now: now)
        let mentionsRateLimit = message?.lowercased().contains("rate limit") ?? false
        if status == 429 || (status == 403 && (headerWait != nil || mentionsRateLimit || response.header("retry-after") != nil)) {
            return (.rateLimited(wait: headerWait ?? secondaryLimitWait), message ?? "rate limited")
        }
        if status >= 500 || status == 408 { return (.transient, message ?? "HTTP \(status)") }
        if (300..<400).contains(status) {
            let location = response.header("Location").map { " to \($0)" } ?? ""
            return (.permanent, "GitHub answered a redirect (HTTP \(status)\(location)); statussync never follows redirects: set baseURL to the API address itself")
        }
        if status == 401 { return (.permanent, "bad credentials: the token was rejected (\(message ?? "401")); check tokenFile/tokenEnv") }
        return (.permanent, message ?? "HTTP \(status)")
    }

    /// `message` plus each `errors[].message` (or code) from a GitHub error body; else a body excerpt.
    static func errorMessage(_ response: ProviderHTTPClient.Response) -> String? {
        guard !response.body.isEmpty else { return nil }
        if let json = try? JSONValue.parse(response.body), case .object = json {
            var parts: [String] = []
            if let m = json["message"]?.stringValue { parts.append(m) }
            if case .array(let errors)? = json["errors"] {
                for e in errors {
                    if let m = e["message"]?.stringValue { parts.append(m) } else if let c = e["code"]?.stringValue {
                        parts.append([e["field"]?.stringValue, c].compactMap { $0 }.joined(separator: " "))
                    } else if let s = e.stringValue { parts.append(s) }
                }
            }
            if !parts.isEmpty { return parts.joined(separator: ": ").excerpt(500) }
        }
        return String(decoding: response.body.prefix(500), as: UTF8.self).excerpt(500)
    }

    /// Makes sure the token never leaves in a message, whatever the server echoed.
    func redact(_ text: String) -> String {
        token.isEmpty ? text : text.replacingOccurrences(of: token, with: "[redacted]")
    }
}
