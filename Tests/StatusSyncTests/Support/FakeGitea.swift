import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StatusSyncCore
import Synchronization

/// Gitea/Forgejo's API (docs/provider-matrix.md#gitea, after Gitea 1.22's swagger): `Authorization:
/// token …` or Bearer, append-only statuses (every POST adds a row), CreateStatusOption's fields
/// only, states pending/success/error/failure/warning, 404 for unknown repos, 500 for a SHA that
/// does not parse (older routers), pulls by index, and scripted failures.
final class FakeGitea: Sendable {
    struct Status: Sendable, Equatable {
        var repo: String
        var sha: String
        var state: String
        var context: String
        var description: String?
        var targetURL: String?
    }

    let token: String
    let traffic = FakeTraffic()
    let comments = FakeComments()
    private let state = Mutex<(statuses: [Status], pulls: [String: String])>(([], [:]))
    private let portBox = Mutex(0)
    static let repos: Set<String> = ["my-org/app"]

    var baseURL: String { "http://127.0.0.1:\(portBox.withLock { $0 })" }
    var statuses: [Status] { state.withLock { $0.statuses } }
    func setPull(_ repo: String, _ index: Int, head: String) { state.withLock { $0.pulls["\(repo)#\(index)"] = head } }

    init(token: String = "gitea-faketoken-0123") { self.token = token }

    static func run<T: Sendable>(_ body: @Sendable (FakeGitea) async throws -> T) async throws -> T {
        let fake = FakeGitea()
        return try await FakeServer.run(install: fake.install, started: { port in fake.portBox.withLock { $0 = port } }) { try await body(fake) }
    }

    private func authorized(_ request: Request) -> Bool {
        let header = request.headers[.authorization]
        return header == "token \(token)" || header == "Bearer \(token)"
    }

    private func install(_ router: Router<BasicRequestContext>) {
        let unauthorized = FakeServer.json(.unauthorized, #"{"message":"token is required","url":"https://gitea.example/api/swagger"}"#)
        router.get("/api/v1/user") { request, _ in
            self.traffic.record(request, body: "")
            return self.authorized(request) ? FakeServer.json(.ok, #"{"id":1,"login":"statussync-bot"}"#) : unauthorized
        }
        router.get("/api/v1/repos/:owner/:repo/pulls/:index") { request, context in
            self.traffic.record(request, body: "")
            guard self.authorized(request) else { return unauthorized }
            let key = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")#\(context.parameters.get("index") ?? "")"
            guard let head = self.state.withLock({ $0.pulls[key] }) else { return FakeServer.json(.notFound, #"{"message":"The target couldn't be found.","errors":[]}"#) }
            return FakeServer.json(.ok, #"{"number":1,"state":"open","head":{"label":"feature","ref":"feature","sha":"\#(head)","repo_id":1}}"#)
        }
        router.get("/api/v1/repos/:owner/:repo/issues/:index/comments") { request, context in
            self.traffic.record(request, body: "")
            guard self.authorized(request) else { return unauthorized }
            let thread = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")#\(context.parameters.get("index") ?? "")"
            let page = Int(request.uri.queryParameters.get("page") ?? "1") ?? 1
            let size = min(50, Int(request.uri.queryParameters.get("limit") ?? "30") ?? 30)
            let items = self.comments.page(thread, page: page, size: size).items
            return FakeServer.json(.ok, JSONValue.array(items.map { .object(["id": .number(Double($0.id)), "body": .string($0.body)]) }).canonicalText)
        }
        router.post("/api/v1/repos/:owner/:repo/issues/:index/comments") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return unauthorized }
            guard let body = (try? JSONValue.parse(Data(text.utf8)))?["body"]?.stringValue else { return FakeServer.json(.unprocessableContent, #"{"message":"body is required"}"#) }
            let c = self.comments.create("\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")#\(context.parameters.get("index") ?? "")", body: body)
            return FakeServer.json(.created, #"{"id":\#(c.id)}"#)
        }
        router.patch("/api/v1/repos/:owner/:repo/issues/comments/:id") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return unauthorized }
            let prefix = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")#"
            guard let body = (try? JSONValue.parse(Data(text.utf8)))?["body"]?.stringValue, let id = Int(context.parameters.get("id") ?? "") else {
                return FakeServer.json(.unprocessableContent, #"{"message":"body is required"}"#)
            }
            for thread in self.comments.threads(prefix: prefix) where self.comments.edit(thread, id: id, body: body) != nil {
                return FakeServer.json(.ok, #"{"id":\#(id)}"#)
            }
            return FakeServer.json(.notFound, #"{"message":"The target couldn't be found."}"#)
        }
        router.post("/api/v1/repos/:owner/:repo/statuses/:sha") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return unauthorized }
            if let scripted = try await self.traffic.scripted() { return scripted }
            let repo = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")"
            guard Self.repos.contains(repo) else { return FakeServer.json(.notFound, #"{"message":"The target couldn't be found.","errors":[]}"#) }
            let sha = context.parameters.get("sha") ?? ""
            guard sha.count >= 7, sha.allSatisfy(\.isHexDigit) else {
                return FakeServer.json(.internalServerError, #"{"message":"invalid sha","url":""}"#)
            }
            guard case .object(let fields)? = try? JSONValue.parse(Data(text.utf8)) else { return FakeServer.json(.badRequest, #"{"message":"invalid JSON"}"#) }
            // CreateStatusOption: context, description, state, target_url — strings only.
            for (key, value) in fields {
                guard ["context", "description", "state", "target_url"].contains(key), value.stringValue != nil else {
                    return FakeServer.json(.unprocessableContent, #"{"message":"[\#(key)]: invalid field"}"#)
                }
            }
            guard let st = fields["state"]?.stringValue, ["pending", "success", "error", "failure", "warning"].contains(st) else {
                return FakeServer.json(.badRequest, #"{"message":"invalid state"}"#)
            }
            let status = Status(repo: repo, sha: sha, state: st, context: fields["context"]?.stringValue ?? "", description: fields["description"]?.stringValue,
                                targetURL: fields["target_url"]?.stringValue)
            self.state.withLock { $0.statuses.append(status) }
            return FakeServer.json(.created, #"{"id":1,"status":"\#(st)","context":"\#(status.context)"}"#)
        }
    }
}
