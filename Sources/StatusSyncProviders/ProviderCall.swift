import Foundation
import NIOHTTP1
import StatusSyncCore
import Synchronization

/// The mechanics every provider shares: send one request, time it, classify the answer
/// (docs/provider-matrix.md#error-classes) and keep the token out of every message.
struct ProviderCall: Sendable {
    let http: ProviderHTTPClient
    let token: String
    let now: @Sendable () -> Date
    /// The provider's name for messages ("GitHub", "GitLab", …).
    let label: String
    /// When a 429 says nothing about when to come back.
    var defaultRateLimitWait: Duration = .seconds(10)
    /// Names of the remaining-quota and reset headers of this provider.
    var remainingHeader = "RateLimit-Remaining"
    var resetHeader = "RateLimit-Reset"
    /// Other secrets to keep out of messages (GitHub App JWTs and installation tokens).
    var secrets: Secrets? = nil
    /// What a 401 tells the operator to check.
    var credentialHint = "check tokenFile/tokenEnv"

    typealias Classify = @Sendable (ProviderHTTPClient.Response, String?) -> (CallOutcome.Class, String?)?

    /// Sends the request; `special` may classify an answer first (provider quirks), returning nil
    /// to fall back to the common rules.
    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)], json: JSONValue? = nil,
              notFound: String, special: Classify? = nil) async -> (CallOutcome, ProviderHTTPClient.Response?) {
        let started = now()
        let clock = ContinuousClock.now
        var allHeaders = headers
        var body: Data? = nil
        if let json {
            allHeaders.append(("Content-Type", "application/json"))
            body = Data(json.canonicalText.utf8)
        }
        let result = await http.send(method: method, url: url, headers: allHeaders, body: body)
        let elapsed = ContinuousClock.now - clock
        switch result {
        case .failure(.transport(let message)):
            return (CallOutcome(errorClass: .transient, httpStatus: nil, message: redact(message), startedAt: started, duration: elapsed), nil)
        case .success(let response):
            // Only error answers carry a message worth reading; a 2xx body (GitHub's status echo
            // with its creator object) is not parsed for one.
            let message = (200..<300).contains(response.status) ? nil : Self.errorMessage(response)
            var (errorClass, text) = special?(response, message) ?? classify(response, message)
            if response.status == 404, errorClass == .permanent { text = "\(notFound)\(text.map { " (\($0))" } ?? "")" }
            return (CallOutcome(errorClass: errorClass, httpStatus: response.status, message: text.map(redact), startedAt: started, duration: elapsed), response)
        }
    }

    /// 2xx ok; 429 rate-limited (Retry-After, else remaining 0 until reset, else a default wait);
    /// 5xx and 408 transient; redirects and other 4xx permanent with the provider's message.
    func classify(_ response: ProviderHTTPClient.Response, _ message: String?) -> (CallOutcome.Class, String?) {
        let status = response.status
        if (200..<300).contains(status) { return (.ok, nil) }
        if status == 429 {
            return (.rateLimited(wait: rateLimitWait(response) ?? defaultRateLimitWait), message ?? "rate limited (HTTP 429)")
        }
        if status >= 500 || status == 408 { return (.transient, message ?? "HTTP \(status)") }
        if (300..<400).contains(status) {
            let location = response.header("Location").map { " to \($0)" } ?? ""
            return (.permanent, "\(label) answered a redirect (HTTP \(status)\(location)); statussync never follows redirects: set baseURL to the address itself")
        }
        if status == 401 { return (.permanent, "bad credentials: \(label) rejected the token (\(message ?? "401")); \(credentialHint)") }
        return (.permanent, message ?? "HTTP \(status)")
    }

    func rateLimitWait(_ response: ProviderHTTPClient.Response) -> Duration? {
        RateLimitHeaders.wait(header: response.header, remainingName: remainingHeader, resetName: resetHeader, now: now())
    }

    /// A readable message from an error body: JSON `message`/`error`/`errors`, else a text excerpt.
    static func errorMessage(_ response: ProviderHTTPClient.Response) -> String? {
        guard !response.body.isEmpty else { return nil }
        if let json = try? JSONValue.parse(response.body), case .object = json {
            var parts: [String] = []
            for key in ["message", "error"] {
                switch json[key] {
                case .string(let m)?: parts.append(m)
                case .object(let o)?:
                    if let m = o["message"]?.stringValue { parts.append(m) }
                    if case .object(let fields)? = o["fields"] {
                        for (f, v) in fields.sorted(by: { $0.key < $1.key }) {
                            if case .array(let items) = v { parts.append("\(f): \(items.compactMap(\.stringValue).joined(separator: ", "))") }
                        }
                    }
                case .array(let items)?: parts.append(contentsOf: items.compactMap(\.stringValue))
                default: break
                }
            }
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

    /// Makes sure no token leaves in a message, whatever the server echoed.
    func redact(_ text: String) -> String {
        var out = token.isEmpty ? text : text.replacingOccurrences(of: token, with: "[redacted]")
        for secret in secrets?.all ?? [] where !secret.isEmpty { out = out.replacingOccurrences(of: secret, with: "[redacted]") }
        return out
    }
}

/// Secrets minted at run time (so they can be redacted like configured tokens).
final class Secrets: Sendable {
    private let values = Mutex<[String]>([])
    var all: [String] { values.withLock { $0 } }
    func add(_ secret: String) {
        values.withLock { v in
            v.append(secret)
            if v.count > 8 { v.removeFirst(v.count - 8) }
        }
    }
}

extension String {
    /// Percent-encodes a path segment (GitLab project paths: `group%2Fsub%2Fproject`).
    var pathSegmentEncoded: String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return addingPercentEncoding(withAllowedCharacters: allowed) ?? self
    }
}

extension JSONValue {
    /// An id as text whether the provider sends it as a number or a string.
    var idText: String? {
        switch self {
        case .number(let n): return String(Int64(n))
        case .string(let s): return s
        default: return nil
        }
    }
}

extension CallOutcome {
    /// An answer whose shape was not what the provider documents: retried.
    static func unexpected(_ what: String, after outcome: CallOutcome) -> CallOutcome {
        var o = outcome
        o.errorClass = .transient
        o.message = what
        return o
    }
}

extension ProviderCall {
    /// `baseURL` + `suffix`, without a doubled slash.
    static func root(_ baseURL: String, _ suffix: String = "") -> String {
        (baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL) + suffix
    }

    /// A pull request's head read from a successful answer; an answer without a sha is retried.
    static func head(_ outcome: CallOutcome, _ response: ProviderHTTPClient.Response?, what: String,
                     sha: (JSONValue) -> String?, branch: (JSONValue) -> String?) -> (CallOutcome, PullRequestHead?) {
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        guard let json = try? JSONValue.parse(response.body), let sha = sha(json), !sha.isEmpty else {
            return (.unexpected("\(what) answer has no head commit", after: outcome), nil)
        }
        return (outcome, PullRequestHead(sha: sha.lowercased(), sourceBranch: branch(json)))
    }
}
