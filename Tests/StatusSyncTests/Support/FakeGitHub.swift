import Crypto
import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StatusSyncCore
import Synchronization

/// A GitHub REST API on 127.0.0.1 that behaves like the real one where statussync depends on it
/// (docs/provider-matrix.md#github): bearer auth (401 "Bad credentials"), the required `state` enum and
/// the official request schema, descriptions over 140 characters (422), 1000 statuses per
/// sha+context (422), unknown repos (404) and SHAs (422), pull-request heads, and scripted
/// failures on demand: 5xx, 429/403 rate limits with headers, slow answers, redirects.
final class FakeGitHub: Sendable {
    struct Status: Sendable, Equatable {
        var repo: String
        var sha: String
        var state: String
        var context: String
        var description: String?
        var targetURL: String?
        var at: ContinuousClock.Instant
        static func == (a: Status, b: Status) -> Bool {
            a.repo == b.repo && a.sha == b.sha && a.state == b.state && a.context == b.context && a.description == b.description && a.targetURL == b.targetURL
        }
    }

    struct Request: Sendable {
        var method: String
        var path: String
        var authorization: String?
        var body: String
        var at: ContinuousClock.Instant
    }

    /// What to answer to the next status POST (scripted, in order; then `.created`).
    enum Reply: Sendable {
        case created
        case error(Int, headers: [(String, String)] = [], body: String)
        case slow(Duration, then: Box)
        case redirect(String)

        final class Box: Sendable {
            let reply: Reply
            init(_ reply: Reply) { self.reply = reply }
        }

        static func slow(_ d: Duration, _ then: Reply = .created) -> Reply { .slow(d, then: Box(then)) }
        static func serverError(_ code: Int = 502) -> Reply { .error(code, body: "{\"message\":\"Server Error\"}") }
    }

    /// A check run as the fake keeps it.
    struct CheckRun: Sendable, Equatable {
        var id: Int64
        var repo: String
        var sha: String
        var name: String
        var externalID: String?
        var detailsURL: String?
        var status: String
        var conclusion: String?
        var startedAt: String?
        var completedAt: String?
        var title: String?
        var summary: String?
        /// The action buttons' identifiers, as the last body that set `actions` gave them.
        var actions: [String] = []
        /// Every body that created or changed it, in order.
        var bodies: [JSONValue]
    }

    private struct State {
        var checkRuns: [CheckRun] = []
        /// Scripted answers to the next check-run POSTs (then created). `.slow` then `.created`
        /// creates the run and answers late (a lost answer when the client times out first).
        var checkScript: [Reply] = []
        var statuses: [Status] = []
        var requests: [Request] = []
        var script: [Reply] = []
        var defaultReply: Reply = .created
        var pulls: [String: String] = [:]
        var knownRepos: Set<String>? = nil
        var knownSHAs: Set<String>? = nil
        var schemaViolations: [String] = []
        var inFlight: [String: Int] = [:]
        var maxInFlightPerSubject = 0
        var nextID = 1
    }

    let token: String
    let comments = FakeComments()
    private let state = Mutex(State())
    /// GitHub App: the app id and public key JWTs must verify with, and the installation tokens issued.
    private let app = Mutex<(appID: String, key: _RSA.Signing.PublicKey, installation: String, lifetime: TimeInterval)?>(nil)
    private let installationTokens = Mutex<[String: Date]>([:])
    private let tokenRequestCount = Mutex(0)

    func registerApp(id: String, installation: String, publicKey: _RSA.Signing.PublicKey, tokenLifetime: TimeInterval = 3600) {
        app.withLock { $0 = (id, publicKey, installation, tokenLifetime) }
    }
    /// Invalidates every installation token issued so far (GitHub answers 401 to them).
    func revokeInstallationTokens() { installationTokens.withLock { $0.removeAll() } }
    var tokenRequests: Int { tokenRequestCount.withLock { $0 } }
    private let portBox = Mutex(0)
    var port: Int { portBox.withLock { $0 } }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(token: String = "ghp_faketoken0123456789") {
        self.token = token
    }

    // MARK: test controls

    func enqueue(_ replies: Reply...) { state.withLock { $0.script.append(contentsOf: replies) } }
    func setDefault(_ reply: Reply) { state.withLock { $0.defaultReply = reply } }
    func setPull(_ repo: String, _ number: Int, head: String) { state.withLock { $0.pulls["\(repo)#\(number)"] = head } }
    func setKnownRepos(_ repos: Set<String>) { state.withLock { $0.knownRepos = repos } }
    func setKnownSHAs(_ shas: Set<String>?) { state.withLock { $0.knownSHAs = shas } }

    var statuses: [Status] { state.withLock { $0.statuses } }
    var checkRuns: [CheckRun] { state.withLock { $0.checkRuns } }
    func enqueueCheckCreate(_ replies: Reply...) { state.withLock { $0.checkScript.append(contentsOf: replies) } }
    var requests: [Request] { state.withLock { $0.requests } }
    var schemaViolations: [String] { state.withLock { $0.schemaViolations } }
    var maxInFlightPerSubject: Int { state.withLock { $0.maxInFlightPerSubject } }
    func statuses(sha: String, context: String) -> [Status] { statuses.filter { $0.sha == sha && $0.context == context } }

    // MARK: server

    /// Runs the fake for the duration of `body`.
    static func run<T: Sendable>(token: String = "ghp_faketoken0123456789", _ body: @Sendable (FakeGitHub) async throws -> T) async throws -> T {
        let fake = FakeGitHub(token: token)
        return try await FakeServer.run(install: { router in
            fake.addRoutes(to: router, prefix: "")
            fake.addRoutes(to: router, prefix: "/api/v3")
        }, started: { port in fake.portBox.withLock { $0 = port } }) { try await body(fake) }
    }

    private func addRoutes(to router: Router<BasicRequestContext>, prefix: String) {
        router.post("\(prefix)/repos/:owner/:repo/statuses/:sha") { request, context in
            try await self.createStatus(request, context)
        }
        router.post("\(prefix)/repos/:owner/:repo/check-runs") { request, context in
            try await self.createCheckRun(request, context)
        }
        router.patch("\(prefix)/repos/:owner/:repo/check-runs/:id") { request, context in
            try await self.updateCheckRun(request, context)
        }
        router.get("\(prefix)/repos/:owner/:repo/commits/:sha/check-runs") { request, context in
            self.record(request, body: "")
            guard self.authorized(request) else { return self.json(.unauthorized, "{\"message\":\"Bad credentials\"}") }
            let repo = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")"
            let sha = context.parameters.get("sha") ?? ""
            let name = request.uri.queryParameters.get("check_name").map { String($0).removingPercentEncoding ?? String($0) }
            let page = Int(request.uri.queryParameters.get("page") ?? "1") ?? 1
            let size = min(100, Int(request.uri.queryParameters.get("per_page") ?? "30") ?? 30)
            let all = self.checkRuns.filter { $0.repo == repo && $0.sha == sha && (name == nil || $0.name == name) }.reversed()
            let items = Array(all.dropFirst((page - 1) * size).prefix(size)).map(self.checkRunJSON)
            return self.json(.ok, JSONValue.object(["total_count": .number(Double(all.count)), "check_runs": .array(items)]).canonicalText, headers: self.rateHeaders)
        }
        router.get("\(prefix)/repos/:owner/:repo/pulls/:number") { request, context in
            try await self.getPull(request, context)
        }
        router.get("\(prefix)/repos/:owner/:repo/issues/:number/comments") { request, context in
            self.record(request, body: "")
            guard self.authorized(request) else { return self.json(.unauthorized, "{\"message\":\"Bad credentials\"}") }
            let thread = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")#\(context.parameters.get("number") ?? "")"
            let page = Int(request.uri.queryParameters.get("page") ?? "1") ?? 1
            let size = min(100, Int(request.uri.queryParameters.get("per_page") ?? "30") ?? 30)
            let items = self.comments.page(thread, page: page, size: size).items
            return self.json(.ok, JSONValue.array(items.map { .object(["id": .number(Double($0.id)), "body": .string($0.body)]) }).canonicalText)
        }
        router.post("\(prefix)/repos/:owner/:repo/issues/:number/comments") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.record(request, body: text)
            guard self.authorized(request) else { return self.json(.unauthorized, "{\"message\":\"Bad credentials\"}") }
            guard let body = (try? JSONValue.parse(Data(text.utf8)))?["body"]?.stringValue else { return self.json(.unprocessableContent, "{\"message\":\"body is required\"}") }
            let thread = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")#\(context.parameters.get("number") ?? "")"
            let c = self.comments.create(thread, body: body)
            return self.json(.created, "{\"id\":\(c.id)}")
        }
        router.patch("\(prefix)/repos/:owner/:repo/issues/comments/:id") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.record(request, body: text)
            guard self.authorized(request) else { return self.json(.unauthorized, "{\"message\":\"Bad credentials\"}") }
            let prefix = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")#"
            guard let body = (try? JSONValue.parse(Data(text.utf8)))?["body"]?.stringValue, let id = Int(context.parameters.get("id") ?? "") else {
                return self.json(.unprocessableContent, "{\"message\":\"body is required\"}")
            }
            for thread in self.comments.threads(prefix: prefix) where self.comments.edit(thread, id: id, body: body) != nil {
                return self.json(.ok, "{\"id\":\(id)}")
            }
            return self.json(.notFound, "{\"message\":\"Not Found\"}")
        }
        router.post("\(prefix)/app/installations/:id/access_tokens") { request, context in
            self.record(request, body: "")
            self.tokenRequestCount.withLock { $0 += 1 }
            if let problem = self.jwtProblem(request.headers[.authorization]) {
                return self.json(.unauthorized, "{\"message\":\"A JSON web token could not be decoded (\(problem))\"}")
            }
            guard let app = self.app.withLock({ $0 }), context.parameters.get("id") == app.installation else {
                return self.json(.notFound, "{\"message\":\"Not Found\"}")
            }
            let token = "ghs_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            let expires = Date().addingTimeInterval(app.lifetime)
            self.installationTokens.withLock { $0[token] = expires }
            return self.json(.created, "{\"token\":\"\(token)\",\"expires_at\":\"\(expires.formatted(.iso8601))\"}")
        }
        router.get("\(prefix)/followed") { request, _ in
            self.record(request, body: "")
            return self.json(.ok, "{}")
        }
        router.post("\(prefix)/followed") { request, _ in
            self.record(request, body: "")
            return self.json(.ok, "{}")
        }
        router.get("\(prefix)/user") { request, _ in
            self.record(request, body: "")
            guard self.authorized(request) else { return self.json(.unauthorized, "{\"message\":\"Bad credentials\",\"status\":\"401\"}") }
            return self.json(.ok, "{\"login\":\"statussync-bot\",\"id\":1,\"type\":\"User\"}", headers: self.rateHeaders)
        }
    }

    private func json(_ status: HTTPResponse.Status, _ body: String, headers: [(String, String)] = []) -> Response {
        FakeServer.json(status, body, headers: headers)
    }

    private var rateHeaders: [(String, String)] {
        [("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "4999"), ("x-ratelimit-reset", "\(Int(Date().timeIntervalSince1970) + 3600)"), ("x-ratelimit-resource", "core")]
    }

    private func authorized(_ request: Hummingbird.Request) -> Bool {
        let header = request.headers[.authorization] ?? ""
        if header == "Bearer \(token)" || header == "token \(token)" { return true }
        guard header.hasPrefix("Bearer ghs_") else { return false }
        let presented = String(header.dropFirst(7))
        return installationTokens.withLock { ($0[presented] ?? .distantPast) > Date() }
    }

    /// Checks an app JWT as GitHub does: RS256 signature by the app's key, `iss` = app id, `exp`
    /// at most 10 minutes after `iat` and not past. Nil when valid, else the reason.
    private func jwtProblem(_ header: String?) -> String? {
        guard let app = app.withLock({ $0 }) else { return "no app registered" }
        guard let header, header.hasPrefix("Bearer ") else { return "no bearer JWT" }
        let parts = header.dropFirst(7).split(separator: ".").map(String.init)
        guard parts.count == 3 else { return "not a JWT" }
        func decode(_ s: String) -> Data? {
            var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while b.count % 4 != 0 { b += "=" }
            return Data(base64Encoded: b)
        }
        guard let head = decode(parts[0]).flatMap({ try? JSONValue.parse($0) }), head["alg"] == .string("RS256"),
              let claims = decode(parts[1]).flatMap({ try? JSONValue.parse($0) }), let signature = decode(parts[2]) else { return "malformed JWT" }
        guard app.key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: Data((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5) else {
            return "signature does not verify"
        }
        guard claims["iss"] == .string(app.appID) else { return "iss is not the app id" }
        guard case .number(let iat)? = claims["iat"], case .number(let exp)? = claims["exp"] else { return "iat/exp missing" }
        let now = Date().timeIntervalSince1970
        guard exp > now, exp - iat <= 660, iat <= now + 60 else { return "expired or too long-lived" }
        return nil
    }

    private func record(_ request: Hummingbird.Request, body: String) {
        let entry = Request(method: request.method.rawValue, path: request.uri.path, authorization: request.headers[.authorization], body: body, at: .now)
        state.withLock { $0.requests.append(entry) }
    }

    private func createStatus(_ request: Hummingbird.Request, _ context: BasicRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let text = String(buffer: buffer)
        record(request, body: text)
        guard authorized(request) else {
            return json(.unauthorized, "{\"message\":\"Bad credentials\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"401\"}")
        }
        let owner = context.parameters.get("owner") ?? ""
        let repoName = context.parameters.get("repo") ?? ""
        let repo = "\(owner)/\(repoName)"
        let sha = context.parameters.get("sha") ?? ""
        let (known, shas) = state.withLock { ($0.knownRepos, $0.knownSHAs) }
        if let known, !known.contains(repo) { return json(.notFound, "{\"message\":\"Not Found\",\"documentation_url\":\"https://docs.github.com/rest/commits/statuses#create-a-commit-status\",\"status\":\"404\"}") }

        guard let body = try? JSONValue.parse(Data(buffer: buffer)) else {
            return json(.badRequest, "{\"message\":\"Problems parsing JSON\"}")
        }
        if let violation = GitHubSchema.statusRequest.violation(body) {
            state.withLock { $0.schemaViolations.append(violation) }
            return json(.unprocessableContent, "{\"message\":\"Invalid request.\\n\\n\(violation)\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"422\"}")
        }
        let ctx = body["context"]?.stringValue ?? "default"
        let subject = "\(repo)@\(sha)/\(ctx.lowercased())"
        state.withLock { s in
            s.inFlight[subject, default: 0] += 1
            s.maxInFlightPerSubject = max(s.maxInFlightPerSubject, s.inFlight[subject]!)
        }
        defer { state.withLock { $0.inFlight[subject, default: 1] -= 1 } }

        var reply = state.withLock { s -> Reply in s.script.isEmpty ? s.defaultReply : s.script.removeFirst() }
        while case .slow(let d, let then) = reply {
            try await Task.sleep(for: d)
            reply = then.reply
        }
        switch reply {
        case .error(let code, let headers, let text):
            return json(.init(code: code), text, headers: headers)
        case .redirect(let location):
            return json(.movedPermanently, "{\"message\":\"Moved Permanently\"}", headers: [("Location", location)])
        case .created, .slow:
            break
        }
        if let shas, !shas.contains(sha) {
            return json(.unprocessableContent, "{\"message\":\"No commit found for SHA: \(sha)\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"422\"}")
        }
        let description = body["description"]?.stringValue
        if let description, description.unicodeScalars.count > 140 {
            return json(.unprocessableContent, "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Status\",\"code\":\"custom\",\"field\":\"description\",\"message\":\"description is too long (maximum is 140 characters)\"}],\"documentation_url\":\"https://docs.github.com/rest/commits/statuses#create-a-commit-status\",\"status\":\"422\"}")
        }
        let count = state.withLock { s in s.statuses.filter { $0.repo == repo && $0.sha == sha && $0.context.lowercased() == ctx.lowercased() }.count }
        if count >= 1000 {
            return json(.unprocessableContent, "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Status\",\"code\":\"custom\",\"message\":\"This SHA and context has reached the maximum number of statuses.\"}],\"status\":\"422\"}")
        }
        let status = Status(repo: repo, sha: sha, state: body["state"]?.stringValue ?? "", context: ctx, description: description,
                            targetURL: body["target_url"]?.stringValue, at: .now)
        let id = state.withLock { s -> Int in
            s.statuses.append(status)
            s.nextID += 1
            return s.nextID
        }
        var echo: [String: JSONValue] = [
            "url": .string("\(baseURL)/repos/\(repo)/statuses/\(sha)"), "avatar_url": .null, "id": .number(Double(id)),
            "node_id": .string("SC_\(id)"), "state": .string(status.state), "description": description.map(JSONValue.string) ?? .null,
            "target_url": status.targetURL.map(JSONValue.string) ?? .null, "context": .string(ctx),
            "created_at": .string("2026-11-26T00:00:00Z"), "updated_at": .string("2026-11-26T00:00:00Z"), "creator": .null,
        ]
        echo["state"] = .string(status.state)
        return json(.created, JSONValue.object(echo).canonicalText, headers: rateHeaders + [("Location", "\(baseURL)/repos/\(repo)/statuses/\(sha)")])
    }

    private func checkRunJSON(_ run: CheckRun) -> JSONValue {
        .object([
            "id": .number(Double(run.id)), "head_sha": .string(run.sha), "name": .string(run.name),
            "external_id": run.externalID.map(JSONValue.string) ?? .null, "status": .string(run.status),
            "conclusion": run.conclusion.map(JSONValue.string) ?? .null, "details_url": run.detailsURL.map(JSONValue.string) ?? .null,
            "started_at": run.startedAt.map(JSONValue.string) ?? .null, "completed_at": run.completedAt.map(JSONValue.string) ?? .null,
            "output": .object(["title": run.title.map(JSONValue.string) ?? .null, "summary": run.summary.map(JSONValue.string) ?? .null]),
            "actions": .array(run.actions.map { .object(["identifier": .string($0)]) }),
        ])
    }

    /// GitHub: only a GitHub App's installation token may write check runs.
    private func checkRunCaller(_ request: Hummingbird.Request) -> Response? {
        guard authorized(request) else { return json(.unauthorized, "{\"message\":\"Bad credentials\"}") }
        guard request.headers[.authorization]?.hasPrefix("Bearer ghs_") == true else {
            return json(.forbidden, "{\"message\":\"You must authenticate via a GitHub App.\",\"documentation_url\":\"https://docs.github.com/rest/reference/checks#create-a-check-run\"}")
        }
        return nil
    }

    private func invalid(_ violation: String) -> Response {
        state.withLock { $0.schemaViolations.append(violation) }
        return json(.unprocessableContent, "{\"message\":\"Invalid request.\\n\\n\(violation)\",\"documentation_url\":\"https://docs.github.com/rest/checks/runs\",\"status\":\"422\"}")
    }

    /// Applies a create or update body to a run.
    private static func apply(_ body: JSONValue, to run: inout CheckRun) {
        if let v = body["name"]?.stringValue { run.name = v }
        if let v = body["external_id"]?.stringValue { run.externalID = v }
        if let v = body["details_url"]?.stringValue { run.detailsURL = v }
        if let v = body["status"]?.stringValue { run.status = v }
        if let v = body["conclusion"]?.stringValue { run.conclusion = v; run.status = "completed" }
        if let v = body["started_at"]?.stringValue { run.startedAt = v }
        if let v = body["completed_at"]?.stringValue { run.completedAt = v }
        if let v = body["output"]?["title"]?.stringValue { run.title = v }
        if let v = body["output"]?["summary"]?.stringValue { run.summary = v }
        if case .array(let actions)? = body["actions"] { run.actions = actions.compactMap { $0["identifier"]?.stringValue } }
        run.bodies.append(body)
    }

    private func createCheckRun(_ request: Hummingbird.Request, _ context: BasicRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        record(request, body: String(buffer: buffer))
        if let refused = checkRunCaller(request) { return refused }
        let repo = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")"
        guard let body = try? JSONValue.parse(Data(buffer: buffer)) else { return json(.badRequest, "{\"message\":\"Problems parsing JSON\"}") }
        if let violation = CheckRunSchema.create.violation(body) { return invalid(violation) }
        var reply = state.withLock { s -> Reply in s.checkScript.isEmpty ? .created : s.checkScript.removeFirst() }
        if case .error(let code, let headers, let text) = reply { return json(.init(code: code), text, headers: headers) }
        // Created at once; a slow reply delays only the answer (the run exists either way).
        var run = CheckRun(id: 0, repo: repo, sha: body["head_sha"]?.stringValue ?? "", name: "", status: "queued", bodies: [])
        Self.apply(body, to: &run)
        let created = state.withLock { s -> CheckRun in
            s.nextID += 1
            run.id = Int64(s.nextID) * 1000
            s.checkRuns.append(run)
            return run
        }
        while case .slow(let d, let then) = reply {
            try await Task.sleep(for: d)
            reply = then.reply
        }
        return json(.created, checkRunJSON(created).canonicalText, headers: rateHeaders)
    }

    private func updateCheckRun(_ request: Hummingbird.Request, _ context: BasicRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        record(request, body: String(buffer: buffer))
        if let refused = checkRunCaller(request) { return refused }
        let repo = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")"
        guard let body = try? JSONValue.parse(Data(buffer: buffer)) else { return json(.badRequest, "{\"message\":\"Problems parsing JSON\"}") }
        if let violation = CheckRunSchema.update.violation(body) { return invalid(violation) }
        let id = Int64(context.parameters.get("id") ?? "") ?? -1
        let updated = state.withLock { s -> CheckRun? in
            guard let i = s.checkRuns.firstIndex(where: { $0.id == id && $0.repo == repo }) else { return nil }
            Self.apply(body, to: &s.checkRuns[i])
            return s.checkRuns[i]
        }
        guard let updated else { return json(.notFound, "{\"message\":\"Not Found\",\"status\":\"404\"}") }
        return json(.ok, checkRunJSON(updated).canonicalText, headers: rateHeaders)
    }

    private func getPull(_ request: Hummingbird.Request, _ context: BasicRequestContext) async throws -> Response {
        record(request, body: "")
        guard authorized(request) else { return json(.unauthorized, "{\"message\":\"Bad credentials\"}") }
        let repo = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")"
        let number = context.parameters.get("number") ?? ""
        guard let head = state.withLock({ $0.pulls["\(repo)#\(number)"] }) else {
            return json(.notFound, "{\"message\":\"Not Found\",\"documentation_url\":\"https://docs.github.com/rest/pulls/pulls#get-a-pull-request\",\"status\":\"404\"}")
        }
        return json(.ok, "{\"number\":\(number),\"state\":\"open\",\"head\":{\"sha\":\"\(head)\",\"ref\":\"feature\"},\"base\":{\"sha\":\"0000000000000000000000000000000000000000\",\"ref\":\"main\"}}", headers: rateHeaders)
    }
}
