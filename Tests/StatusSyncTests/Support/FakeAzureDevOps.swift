import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StatusSyncCore
import Synchronization

/// An Azure DevOps organisation on 127.0.0.1 whose routes, query parameters and request bodies
/// come from the official spec fragment (Fixtures/provider-specs/azure-devops-git.json): a request that no
/// spec operation describes, lacks `api-version`, or carries a body the operation's schema would
/// not describe (unknown fields, wrong types, values outside an enum) is answered 400 and kept in
/// `violations`. Behaviour follows the spec's `x-observed` notes: route segments and names are
/// case-insensitive; lists come wrapped as `{count, value}`; a PAT is Basic with any user; a
/// credential it cannot authenticate gets the HTML sign-in page with 203 (GET, POST) unless the
/// client sends `X-TFS-FedAuthRedirect: Suppress`, then 401 JSON (PATCH: always 401); errors are
/// `VssServiceError` bodies with the TF codes; commit statuses are append-only; thread properties
/// come back as `{$type, $value}`. Scripted failures answer before anything else.
final class FakeAzureDevOps: Sendable {
    struct Status: Sendable, Equatable {
        var repo: String
        var sha: String
        var state: String
        var genre: String
        var name: String
        var description: String?
        var targetURL: String?
    }

    struct PullRequestStatus: Sendable, Equatable {
        var repo: String
        var pr: Int
        var iterationID: Int?
        var state: String
        var genre: String
        var name: String
    }

    struct Comment: Sendable, Equatable {
        var id: Int
        var content: String
        var author: String
    }

    struct Thread: Sendable, Equatable {
        var id: Int
        var status: String
        var comments: [Comment]
        var properties: [String: String]
    }

    struct PullRequest: Sendable {
        var head: String
        var sourceRef: String
        /// Source commits of the iterations 1…n, in order.
        var iterations: [String]
    }

    private struct State: Sendable {
        var statuses: [Status] = []
        var prStatuses: [PullRequestStatus] = []
        var pulls: [String: PullRequest] = [:]
        var threads: [String: [Thread]] = [:]
        var nextThreadID = 100
        var violations: [String] = []
        var threadPageSize: Int? = nil
    }

    static let organization = "fabrikam"
    /// Projects and their repositories (looked up case-insensitively, like the service).
    static let repositories = ["Fabrikam-Fiber": ["app", "web.site"], "Fabrikam Fiber": ["app"]]
    static let user = "statussync-bot"

    let token: String
    let traffic = FakeTraffic()
    private let state = Mutex(State())
    private let portBox = Mutex(0)

    /// The organisation URL: what `baseURL` is for this kind.
    var baseURL: String { "http://127.0.0.1:\(portBox.withLock { $0 })/\(Self.organization)" }
    var statuses: [Status] { state.withLock { $0.statuses } }
    var prStatuses: [PullRequestStatus] { state.withLock { $0.prStatuses } }
    var violations: [String] { state.withLock { $0.violations } }
    func threads(_ repo: String, pr: Int) -> [Thread] { state.withLock { $0.threads[Self.key(repo, pr)] ?? [] } }

    func setPull(_ repo: String, _ pr: Int, iterations: [String], sourceRef: String = "refs/heads/feature") {
        state.withLock { $0.pulls[Self.key(repo, pr)] = PullRequest(head: iterations.last ?? "", sourceRef: sourceRef, iterations: iterations) }
    }

    /// Threads by other people (each with one comment), so statussync's thread is further down.
    func preloadThreads(_ repo: String, pr: Int, count: Int) {
        state.withLock { s in
            for i in 0..<count {
                s.threads[Self.key(repo, pr), default: []].append(Thread(id: s.nextThreadID, status: "active",
                                                                         comments: [Comment(id: 1, content: "review comment \(i)", author: "reviewer")], properties: [:]))
                s.nextThreadID += 1
            }
        }
    }

    /// Pages the thread list (`x-ms-continuationtoken`), which the spec does not do: the provider
    /// must still find its thread if the service ever pages.
    func pageThreads(by size: Int?) { state.withLock { $0.threadPageSize = size } }

    init(token: String = "azurepat0123456789abcdefghijklmnopqrstuvwxyz012345") { self.token = token }

    static func run<T: Sendable>(_ body: @Sendable (FakeAzureDevOps) async throws -> T) async throws -> T {
        let fake = FakeAzureDevOps()
        return try await FakeServer.run(install: fake.install, started: { port in fake.portBox.withLock { $0 = port } }) { try await body(fake) }
    }

    static func key(_ repo: String, _ pr: Int) -> String { "\(repo.lowercased())#\(pr)" }

    // MARK: Answers

    static func error(_ status: HTTPResponse.Status, _ message: String, typeKey: String, headers: [(String, String)] = []) -> Response {
        let body: JSONValue = .object([
            "$id": .string("1"), "innerException": .null, "message": .string(message),
            "typeName": .string("Microsoft.TeamFoundation.\(typeKey), Microsoft.TeamFoundation"), "typeKey": .string(typeKey),
            "errorCode": .number(0), "eventId": .number(3000),
        ])
        return FakeServer.json(status, body.canonicalText, headers: headers)
    }

    static let signInPage = """
        <!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>
        <body><form action="https://login.microsoftonline.com/">Sign in to your account</form></body></html>
        """

    /// A rejected credential: what the service answers depends on the method and on
    /// `X-TFS-FedAuthRedirect: Suppress` (spec x-observed.auth.bad_or_missing_pat).
    private func unauthenticated(_ request: Request) -> Response {
        let suppress = request.headers[HTTPField.Name("X-TFS-FedAuthRedirect")!]?.lowercased() == "suppress"
        if suppress || request.method == .patch {
            return Self.error(.unauthorized, "TF400813: The user '' is not authorized to access this resource.", typeKey: "UnauthorizedRequestException",
                              headers: [("WWW-Authenticate", "Basic realm=\"https://dev.azure.com/\"")])
        }
        return FakeServer.json(.init(code: 203, reasonPhrase: "Non-Authoritative Information"), Self.signInPage, contentType: "text/html; charset=utf-8")
    }

    /// Basic with any user name and the PAT as the password.
    private func authenticated(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
              let colon = decoded.firstIndex(of: ":") else { return false }
        return decoded[decoded.index(after: colon)...] == token
    }

    private func install(_ router: Router<BasicRequestContext>) {
        router.get("**") { request, _ in try await self.handle(request) }
        router.post("**") { request, _ in try await self.handle(request) }
        router.patch("**") { request, _ in try await self.handle(request) }
    }

    private func violation(_ text: String) -> Response {
        state.withLock { $0.violations.append(text) }
        return Self.error(.badRequest, "fake Azure DevOps: \(text)", typeKey: "InvalidArgumentValueException")
    }

    private func handle(_ request: Request) async throws -> Response {
        let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
        traffic.record(request, body: text)
        if let scripted = try await traffic.scripted() { return scripted }
        guard authenticated(request) else { return unauthenticated(request) }

        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        guard let matched = AzureSpec.shared.match(method: request.method.rawValue, segments: segments) else {
            return violation("no spec operation for \(request.method.rawValue) \(request.uri.path)")
        }
        let (operation, path) = matched
        let query = Self.query(request.uri.query)
        if let problem = operation.checkQuery(query, extra: operation.id == "Pull Request Threads_List" ? ["continuationToken"] : []) {
            return violation("\(operation.id): \(problem)")
        }
        var body: JSONValue? = nil
        if let schema = operation.bodySchema {
            guard let parsed = try? JSONValue.parse(Data(text.utf8)) else { return violation("\(operation.id): body is not JSON") }
            if let problem = AzureSpec.shared.violation(parsed, schema: schema, at: "body") { return violation("\(operation.id): \(problem)") }
            body = parsed
        }
        guard path["organization"]?.lowercased() == Self.organization else {
            return Self.error(.notFound, "TF400898: The organization \(path["organization"] ?? "") does not exist.", typeKey: "HostNotFoundException")
        }
        if operation.id == "Connection Data_Get" {
            return FakeServer.json(.ok, JSONValue.object([
                "authenticatedUser": .object(["id": .string("6f168adb-59d4-4fc0-be3b-fb21b939b2a6"), "providerDisplayName": .string(Self.user), "isActive": .bool(true)]),
                "authorizedUser": .object(["id": .string("6f168adb-59d4-4fc0-be3b-fb21b939b2a6"), "providerDisplayName": .string(Self.user)]),
                "instanceId": .string("b1d9a9a4-f1d2-4b6f-9d0a-8f2c3c4e5a6b"), "deploymentType": .string("hosted"),
            ]).canonicalText)
        }
        // Every other operation names a project and a repository.
        guard let project = Self.repositories.keys.first(where: { $0.lowercased() == path["project"]?.lowercased() }) else {
            return Self.error(.notFound, "TF200016: The following project does not exist: \(path["project"] ?? ""). Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.",
                              typeKey: "ProjectDoesNotExistWithNameException")
        }
        guard let repoName = Self.repositories[project]!.first(where: { $0.lowercased() == path["repositoryId"]?.lowercased() }) else {
            return Self.error(.notFound, "TF401019: The Git repository with name or identifier \(path["repositoryId"] ?? "") does not exist or you do not have permissions for the operation you are attempting.",
                              typeKey: "GitRepositoryNotFoundException")
        }
        let repo = "\(project)/\(repoName)"
        let pr = Int(path["pullRequestId"] ?? "")
        let pull = pr.flatMap { n in state.withLock { $0.pulls[Self.key(repo, n)] } }
        let prNotFound = Self.error(.notFound, "TF401180: The requested pull request was not found.", typeKey: "GitPullRequestNotFoundException")

        switch operation.id {
        case "Statuses_Create":
            let sha = path["commitId"] ?? ""
            guard sha.count == 40, sha.allSatisfy(\.isHexDigit) else {
                return Self.error(.badRequest, "TF401175: The commit id \(sha) is not a valid full commit id.", typeKey: "InvalidArgumentValueException")
            }
            let (genre, name) = Self.context(body) ?? ("", "")
            guard !name.isEmpty else { return Self.error(.badRequest, "The status context name cannot be null or empty.", typeKey: "InvalidArgumentValueException") }
            let status = Status(repo: repo, sha: sha.lowercased(), state: body?["state"]?.stringValue ?? "notSet", genre: genre, name: name,
                                description: body?["description"]?.stringValue, targetURL: body?["targetUrl"]?.stringValue)
            let id = state.withLock { s in
                s.statuses.append(status)
                return s.statuses.count
            }
            var echo = body?.objectValue ?? [:]
            echo["id"] = .number(Double(id))
            echo["creationDate"] = .string("2026-12-04T12:00:00Z")
            return FakeServer.json(.created, JSONValue.object(echo).canonicalText)

        case "Pull Requests_Get Pull Request":
            guard let pull, let pr else { return prNotFound }
            return FakeServer.json(.ok, JSONValue.object([
                "pullRequestId": .number(Double(pr)), "status": .string("active"), "sourceRefName": .string(pull.sourceRef),
                "targetRefName": .string("refs/heads/main"), "lastMergeSourceCommit": .object(["commitId": .string(pull.head)]),
            ]).canonicalText)

        case "Pull Request Iterations_List":
            guard let pull else { return prNotFound }
            let items = pull.iterations.enumerated().map { i, sha in
                JSONValue.object(["id": .number(Double(i + 1)), "sourceRefCommit": .object(["commitId": .string(sha)]), "hasMoreCommits": .bool(false)])
            }
            return FakeServer.json(.ok, JSONValue.object(["count": .number(Double(items.count)), "value": .array(items)]).canonicalText)

        case "Pull Request Statuses_Create":
            guard let pull, let pr else { return prNotFound }
            var iteration: Int? = nil
            if case .number(let n)? = body?["iterationId"] {
                guard n >= 1, Int(n) <= pull.iterations.count else {
                    return Self.error(.badRequest, "TF401460: The iteration \(Int(n)) does not exist for pull request \(pr).", typeKey: "InvalidArgumentValueException")
                }
                iteration = Int(n)
            }
            let (genre, name) = Self.context(body) ?? ("", "")
            guard !name.isEmpty else { return Self.error(.badRequest, "The status context name cannot be null or empty.", typeKey: "InvalidArgumentValueException") }
            let status = PullRequestStatus(repo: repo, pr: pr, iterationID: iteration, state: body?["state"]?.stringValue ?? "notSet", genre: genre, name: name)
            let id = state.withLock { s in
                s.prStatuses.append(status)
                return s.prStatuses.count
            }
            var echo = body?.objectValue ?? [:]
            echo["id"] = .number(Double(id))
            return FakeServer.json(.ok, JSONValue.object(echo).canonicalText)

        case "Pull Request Threads_List":
            guard pull != nil, let pr else { return prNotFound }
            let (all, size) = state.withLock { ($0.threads[Self.key(repo, pr)] ?? [], $0.threadPageSize) }
            var items = all
            var headers: [(String, String)] = []
            if let size {
                let start = Int(query["continuationToken"] ?? "0") ?? 0
                items = Array(all.dropFirst(start).prefix(size))
                if start + size < all.count { headers.append(("x-ms-continuationtoken", "\(start + size)")) }
            }
            let value = JSONValue.array(items.map { Self.json($0) })
            return FakeServer.json(.ok, JSONValue.object(["count": .number(Double(items.count)), "value": value]).canonicalText, headers: headers)

        case "Pull Request Threads_Create":
            guard pull != nil, let pr else { return prNotFound }
            guard case .array(let comments)? = body?["comments"], !comments.isEmpty else {
                return Self.error(.badRequest, "The thread must contain at least one comment.", typeKey: "InvalidArgumentValueException")
            }
            var properties: [String: String] = [:]
            for (k, v) in body?["properties"]?.objectValue ?? [:] { properties[k] = v.stringValue ?? v["$value"]?.stringValue ?? "" }
            let thread = state.withLock { s in
                let t = Thread(id: s.nextThreadID, status: Self.enumName(body?["status"], ["unknown", "active", "fixed", "wontFix", "closed", "byDesign", "pending"]) ?? "active",
                               comments: comments.enumerated().map { Comment(id: $0 + 1, content: $1["content"]?.stringValue ?? "", author: Self.user) },
                               properties: properties)
                s.nextThreadID += 1
                s.threads[Self.key(repo, pr), default: []].append(t)
                return t
            }
            return FakeServer.json(.ok, Self.json(thread).canonicalText)

        case "Pull Request Thread Comments_Update":
            guard pull != nil, let pr, let threadID = Int(path["threadId"] ?? ""), let commentID = Int(path["commentId"] ?? "") else { return prNotFound }
            let content = body?["content"]?.stringValue
            let result: Comment?? = state.withLock { s in
                guard let t = s.threads[Self.key(repo, pr)]?.firstIndex(where: { $0.id == threadID }),
                      let c = s.threads[Self.key(repo, pr)]![t].comments.firstIndex(where: { $0.id == commentID }) else { return .none }
                // Only a comment's author can edit it.
                guard s.threads[Self.key(repo, pr)]![t].comments[c].author == Self.user else { return .some(nil) }
                if let content { s.threads[Self.key(repo, pr)]![t].comments[c].content = content }
                return .some(s.threads[Self.key(repo, pr)]![t].comments[c])
            }
            switch result {
            case .none: return Self.error(.notFound, "TF401181: The requested pull request comment was not found.", typeKey: "GitPullRequestCommentNotFoundException")
            case .some(nil): return Self.error(.forbidden, "TF401185: Only the author of a comment can edit it.", typeKey: "GitPullRequestCommentAuthorizationException")
            case .some(let comment?): return FakeServer.json(.ok, Self.json(comment).canonicalText)
            }

        default:
            return violation("\(operation.id) is in the spec but statussync has no reason to call it")
        }
    }

    static func context(_ body: JSONValue?) -> (String, String)? {
        guard let context = body?["context"] else { return nil }
        return (context["genre"]?.stringValue ?? "", context["name"]?.stringValue ?? "")
    }

    /// An enum given by name or by its integer value (the service accepts both).
    static func enumName(_ value: JSONValue?, _ names: [String]) -> String? {
        switch value {
        case .string(let s)?: return s
        case .number(let n)? where Int(n) >= 0 && Int(n) < names.count: return names[Int(n)]
        default: return nil
        }
    }

    static func json(_ comment: Comment) -> JSONValue {
        .object(["id": .number(Double(comment.id)), "parentCommentId": .number(0), "content": .string(comment.content), "commentType": .string("text"),
                 "author": .object(["displayName": .string(comment.author)]), "isDeleted": .bool(false)])
    }

    static func json(_ thread: Thread) -> JSONValue {
        .object([
            "id": .number(Double(thread.id)), "status": .string(thread.status), "isDeleted": .bool(false),
            "comments": .array(thread.comments.map { json($0) }),
            "properties": .object(thread.properties.mapValues { .object(["$type": .string("System.String"), "$value": .string($0)]) }),
        ])
    }

    static func query(_ text: String?) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (text ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            out[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return out
    }
}

/// The spec fragment as the fake uses it: operations (method, path template, query parameters,
/// body schema) and a validator for bodies against its definitions.
struct AzureSpec: Sendable {
    struct Operation: Sendable {
        var id: String
        var method: String
        var template: [String]
        /// Query parameters by name: required or not, and for api-version the value it takes.
        var query: [String: (required: Bool, version: String?)]
        var bodySchema: JSONValue?

        func checkQuery(_ given: [String: String], extra: Set<String>) -> String? {
            for (name, p) in query where p.required && given[name] == nil {
                if name == "api-version" { return "No api-version was supplied for the \"\(method)\" request (VssVersionNotSpecifiedException)" }
                return "missing required query parameter \(name)"
            }
            for (name, value) in given {
                guard let p = query[name] else {
                    if extra.contains(name) { continue }
                    return "unknown query parameter \(name)"
                }
                if name == "api-version", let version = p.version, version == "-preview" ? !value.contains(version) : value != version {
                    return "api-version \(value) is not \(version) (VssVersionOutOfRangeException / VssInvalidPreviewVersionException)"
                }
            }
            return nil
        }
    }

    let operations: [Operation]
    let definitions: [String: JSONValue]

    static let shared: AzureSpec = {
        let data = try! Data(contentsOf: TestPaths.fixtures.appending(path: "provider-specs").appending(path: "azure-devops-git.json"))
        let spec = try! JSONValue.parse(data)
        let parameters = spec["parameters"]?.objectValue ?? [:]
        var operations: [Operation] = []
        for (path, methods) in spec["paths"]!.objectValue! {
            for (method, op) in methods.objectValue! {
                var query: [String: (required: Bool, version: String?)] = [:]
                var body: JSONValue? = nil
                var listed: [JSONValue] = []
                if case .array(let a)? = op["parameters"] { listed = a }
                for var p in listed {
                    if let ref = p["$ref"]?.stringValue { p = parameters[String(ref.split(separator: "/").last!)]! }
                    switch p["in"]?.stringValue {
                    case "query"?:
                        let name = p["name"]!.stringValue!
                        var version: String? = nil
                        if name == "api-version" {
                            // "This should be set to '7.1' …"; connectionData takes only a preview version.
                            let d = p["description"]?.stringValue ?? ""
                            version = d.range(of: #"'[0-9.]+(-preview\.[0-9]+)?'"#, options: .regularExpression).map { String(d[$0].dropFirst().dropLast()) }
                            if p["required"] != .bool(true) { version = "-preview" }
                        }
                        query[name] = (p["required"] == .bool(true), version)
                    case "body"?: body = p["schema"]
                    default: break
                    }
                }
                operations.append(Operation(id: op["operationId"]?.stringValue ?? "\(method) \(path)", method: method.uppercased(),
                                            template: path.split(separator: "/").map(String.init), query: query, bodySchema: body))
            }
        }
        return AzureSpec(operations: operations, definitions: spec["definitions"]!.objectValue!)
    }()

    /// The operation for a request and its path parameters; literal segments compare
    /// case-insensitively (the service's routing). A template without placeholders wins.
    func match(method: String, segments: [String]) -> (Operation, [String: String])? {
        var best: (Operation, [String: String], Int)? = nil
        for op in operations where op.method == method && op.template.count == segments.count {
            var params: [String: String] = [:]
            var literals = 0
            var ok = true
            for (t, s) in zip(op.template, segments) {
                if t.hasPrefix("{") {
                    params[String(t.dropFirst().dropLast())] = s
                } else if t.lowercased() == s.lowercased() {
                    literals += 1
                } else {
                    ok = false
                    break
                }
            }
            if ok, literals > best?.2 ?? -1 { best = (op, params, literals) }
        }
        return best.map { ($0.0, $0.1) }
    }

    /// Nil when `value` fits `schema`, else what does not. Objects take only the properties their
    /// definition (and its allOf) lists; PropertiesCollection is a free-form bag on the wire.
    func violation(_ value: JSONValue, schema: JSONValue, at path: String) -> String? {
        if let ref = schema["$ref"]?.stringValue {
            let name = String(ref.split(separator: "/").last!)
            if name == "PropertiesCollection" {
                return value.objectValue == nil ? "\(path) is \(value.typeDescription), not a property bag" : nil
            }
            return violation(value, schema: definitions[name]!, at: path)
        }
        if case .array(let allowed)? = schema["enum"] {
            // Enums are accepted by name or by their integer value.
            switch value {
            case .string(let s): return allowed.contains(.string(s)) ? nil : "\(path) \"\(s)\" not in \(allowed.compactMap(\.stringValue))"
            case .number(let n): return n >= 0 && Int(n) < allowed.count ? nil : "\(path) \(n) is not an enum value"
            default: return "\(path) is \(value.typeDescription), not an enum value"
            }
        }
        var properties: [String: JSONValue] = schema["properties"]?.objectValue ?? [:]
        if case .array(let parents)? = schema["allOf"] {
            for parent in parents {
                if let ref = parent["$ref"]?.stringValue, let def = definitions[String(ref.split(separator: "/").last!)] {
                    for (k, v) in def["properties"]?.objectValue ?? [:] { properties[k] = v }
                }
            }
        }
        let type = schema["type"]?.stringValue ?? (properties.isEmpty ? nil : "object")
        switch (type, value) {
        case (nil, _), (_, .null): return nil
        case ("string"?, .string), ("boolean"?, .bool): return nil
        case ("integer"?, .number(let n)): return n.rounded() == n ? nil : "\(path) is not an integer"
        case ("array"?, .array(let items)):
            guard let itemSchema = schema["items"] else { return nil }
            for (i, item) in items.enumerated() {
                if let problem = violation(item, schema: itemSchema, at: "\(path)[\(i)]") { return problem }
            }
            return nil
        case ("object"?, .object(let fields)):
            for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
                if let p = properties[name] {
                    if let problem = violation(field, schema: p, at: "\(path).\(name)") { return problem }
                } else if schema["additionalProperties"] == nil {
                    return "unknown field \(path).\(name)"
                }
            }
            return nil
        default:
            return "\(path) is \(value.typeDescription), schema says \(type!)"
        }
    }
}
