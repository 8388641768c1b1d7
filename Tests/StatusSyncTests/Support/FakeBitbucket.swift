import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StatusSyncCore
import Synchronization

/// Bitbucket Cloud and Bitbucket Data Center (docs/provider-matrix.md#bitbucket) build-status APIs in one
/// fake: statuses upserted by key (Cloud also by refname), `url` required ("Enter a valid URL."),
/// the state enums of each, Cloud's 12-character PR hashes with a commit lookup for the full one,
/// Data Center's 204 and its context path (`/bitbucket`), Bearer auth, scripted 429/5xx.
final class FakeBitbucket: Sendable {
    struct Build: Sendable, Equatable {
        var flavor: String   // cloud | dc
        var repo: String
        var sha: String
        var key: String
        var state: String
        var name: String?
        var description: String?
        var url: String
        var ref: String?
    }

    let token: String
    let traffic = FakeTraffic()
    let comments = FakeComments()
    private let state = Mutex<(builds: [Build], pulls: [String: (hash: String, branch: String)])>(([], [:]))
    private let portBox = Mutex(0)

    var baseURL: String { "http://127.0.0.1:\(portBox.withLock { $0 })" }
    var builds: [Build] { state.withLock { $0.builds } }
    func setPull(_ repo: String, _ id: Int, hash: String, branch: String) { state.withLock { $0.pulls["\(repo)#\(id)"] = (hash, branch) } }

    init(token: String = "bb-faketoken-0123") { self.token = token }

    static func run<T: Sendable>(_ body: @Sendable (FakeBitbucket) async throws -> T) async throws -> T {
        let fake = FakeBitbucket()
        return try await FakeServer.run(install: fake.install, started: { port in fake.portBox.withLock { $0 = port } }) { try await body(fake) }
    }

    private func authorized(_ request: Request) -> Bool { request.headers[.authorization] == "Bearer \(token)" }

    private static let cloudError = #"{"type":"error","error":{"message":"Access token expired or invalid"}}"#

    private func upsert(_ build: Build) -> Bool {
        state.withLock { s -> Bool in
            if let i = s.builds.firstIndex(where: { $0.flavor == build.flavor && $0.repo == build.repo && $0.sha == build.sha && $0.key == build.key && ($0.flavor == "dc" || $0.ref == build.ref) }) {
                s.builds[i] = build
                return false
            }
            s.builds.append(build)
            return true
        }
    }

    private static func validURL(_ text: String?) -> Bool {
        guard let text, let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else { return false }
        return true
    }

    private func install(_ router: Router<BasicRequestContext>) {
        // Bitbucket Cloud
        router.get("/2.0/user") { request, _ in
            self.traffic.record(request, body: "")
            return self.authorized(request) ? FakeServer.json(.ok, #"{"username":"statussync-bot","display_name":"bot"}"#) : FakeServer.json(.unauthorized, Self.cloudError)
        }
        router.get("/2.0/repositories/:ws/:slug/pullrequests/:id") { request, context in
            self.traffic.record(request, body: "")
            guard self.authorized(request) else { return FakeServer.json(.unauthorized, Self.cloudError) }
            let key = "\(context.parameters.get("ws") ?? "")/\(context.parameters.get("slug") ?? "")#\(context.parameters.get("id") ?? "")"
            guard let pull = self.state.withLock({ $0.pulls[key] }) else { return FakeServer.json(.notFound, #"{"type":"error","error":{"message":"Pull request not found"}}"#) }
            return FakeServer.json(.ok, #"{"id":1,"source":{"branch":{"name":"\#(pull.branch)"},"commit":{"hash":"\#(pull.hash.prefix(12))"}}}"#)
        }
        router.get("/2.0/repositories/:ws/:slug/commit/:sha") { request, context in
            self.traffic.record(request, body: "")
            guard self.authorized(request) else { return FakeServer.json(.unauthorized, Self.cloudError) }
            let short = context.parameters.get("sha") ?? ""
            guard let full = self.state.withLock({ $0.pulls.values.first { $0.hash.hasPrefix(short) }?.hash }) else {
                return FakeServer.json(.notFound, #"{"type":"error","error":{"message":"Commit not found"}}"#)
            }
            return FakeServer.json(.ok, #"{"hash":"\#(full)","type":"commit"}"#)
        }
        router.get("/2.0/repositories/:ws/:slug/pullrequests/:id/comments") { request, context in
            self.traffic.record(request, body: "")
            guard self.authorized(request) else { return FakeServer.json(.unauthorized, Self.cloudError) }
            let thread = "cloud:\(context.parameters.get("ws") ?? "")/\(context.parameters.get("slug") ?? "")#\(context.parameters.get("id") ?? "")"
            let page = Int(request.uri.queryParameters.get("page") ?? "1") ?? 1
            let size = min(100, Int(request.uri.queryParameters.get("pagelen") ?? "10") ?? 10)
            let (items, more) = self.comments.page(thread, page: page, size: size)
            var json: [String: JSONValue] = ["values": .array(items.map { .object(["id": .number(Double($0.id)), "content": .object(["raw": .string($0.body)])]) }),
                                             "page": .number(Double(page)), "pagelen": .number(Double(size))]
            if more { json["next"] = .string("\(self.baseURL)/2.0/repositories/\(context.parameters.get("ws") ?? "")/\(context.parameters.get("slug") ?? "")/pullrequests/\(context.parameters.get("id") ?? "")/comments?pagelen=\(size)&page=\(page + 1)") }
            return FakeServer.json(.ok, JSONValue.object(json).canonicalText)
        }
        router.post("/2.0/repositories/:ws/:slug/pullrequests/:id/comments") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return FakeServer.json(.unauthorized, Self.cloudError) }
            guard let raw = (try? JSONValue.parse(Data(text.utf8)))?["content"]?["raw"]?.stringValue else {
                return FakeServer.json(.badRequest, #"{"type":"error","error":{"message":"content.raw is required"}}"#)
            }
            let c = self.comments.create("cloud:\(context.parameters.get("ws") ?? "")/\(context.parameters.get("slug") ?? "")#\(context.parameters.get("id") ?? "")", body: raw)
            return FakeServer.json(.created, #"{"id":\#(c.id)}"#)
        }
        router.put("/2.0/repositories/:ws/:slug/pullrequests/:id/comments/:cid") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return FakeServer.json(.unauthorized, Self.cloudError) }
            let thread = "cloud:\(context.parameters.get("ws") ?? "")/\(context.parameters.get("slug") ?? "")#\(context.parameters.get("id") ?? "")"
            guard let raw = (try? JSONValue.parse(Data(text.utf8)))?["content"]?["raw"]?.stringValue, let cid = Int(context.parameters.get("cid") ?? ""),
                  self.comments.edit(thread, id: cid, body: raw) != nil else {
                return FakeServer.json(.notFound, #"{"type":"error","error":{"message":"No such comment"}}"#)
            }
            return FakeServer.json(.ok, #"{"id":\#(cid)}"#)
        }
        router.post("/2.0/repositories/:ws/:slug/commit/:sha/statuses/build") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return FakeServer.json(.unauthorized, Self.cloudError) }
            if let scripted = try await self.traffic.scripted() { return scripted }
            guard case .object(let f)? = try? JSONValue.parse(Data(text.utf8)) else { return FakeServer.json(.badRequest, #"{"type":"error","error":{"message":"Bad request"}}"#) }
            guard Self.validURL(f["url"]?.stringValue) else {
                return FakeServer.json(.badRequest, #"{"type":"error","error":{"message":"Bad request","fields":{"url":["Enter a valid URL."]}}}"#)
            }
            guard let key = f["key"]?.stringValue, !key.isEmpty, key.count <= 40 else {
                return FakeServer.json(.badRequest, #"{"type":"error","error":{"message":"Bad request","fields":{"key":["Ensure this value has at most 40 characters."]}}}"#)
            }
            guard let st = f["state"]?.stringValue, ["INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"].contains(st) else {
                return FakeServer.json(.badRequest, #"{"type":"error","error":{"message":"Bad request","fields":{"state":["Select a valid choice."]}}}"#)
            }
            let repo = "\(context.parameters.get("ws") ?? "")/\(context.parameters.get("slug") ?? "")"
            let build = Build(flavor: "cloud", repo: repo, sha: context.parameters.get("sha") ?? "", key: key, state: st, name: f["name"]?.stringValue,
                              description: f["description"]?.stringValue, url: f["url"]?.stringValue ?? "", ref: f["refname"]?.stringValue)
            let created = self.upsert(build)
            return FakeServer.json(created ? .created : .ok, #"{"key":"\#(key)","state":"\#(st)","type":"build"}"#)
        }
        // Bitbucket Data Center, at the root and under the context path /bitbucket
        for prefix in ["", "/bitbucket"] {
            router.get("\(prefix)/plugins/servlet/applinks/whoami") { request, _ in
                self.traffic.record(request, body: "")
                return FakeServer.json(.ok, self.authorized(request) ? "statussync-bot" : "", contentType: "text/plain")
            }
            router.get("\(prefix)/rest/api/latest/projects/:key/repos/:slug/pull-requests/:id") { request, context in
                self.traffic.record(request, body: "")
                guard self.authorized(request) else { return FakeServer.json(.unauthorized, #"{"errors":[{"message":"Authentication failed."}]}"#) }
                let repo = "\(context.parameters.get("key") ?? "")/\(context.parameters.get("slug") ?? "")#\(context.parameters.get("id") ?? "")"
                guard let pull = self.state.withLock({ $0.pulls[repo] }) else {
                    return FakeServer.json(.notFound, #"{"errors":[{"message":"Pull request \#(context.parameters.get("id") ?? "") does not exist."}]}"#)
                }
                return FakeServer.json(.ok, #"{"id":1,"fromRef":{"id":"refs/heads/\#(pull.branch)","displayId":"\#(pull.branch)","latestCommit":"\#(pull.hash)"}}"#)
            }
            router.get("\(prefix)/rest/api/latest/projects/:key/repos/:slug/pull-requests/:id/activities") { request, context in
                self.traffic.record(request, body: "")
                guard self.authorized(request) else { return FakeServer.json(.unauthorized, #"{"errors":[{"message":"Authentication failed."}]}"#) }
                let thread = "dc:\(context.parameters.get("key") ?? "")/\(context.parameters.get("slug") ?? "")#\(context.parameters.get("id") ?? "")"
                let start = Int(request.uri.queryParameters.get("start") ?? "0") ?? 0
                let limit = min(100, Int(request.uri.queryParameters.get("limit") ?? "25") ?? 25)
                let all = self.comments.all(thread)
                let slice = Array(all.dropFirst(start).prefix(limit))
                let values: [JSONValue] = slice.map { .object(["action": .string("COMMENTED"), "comment": .object(["id": .number(Double($0.id)), "text": .string($0.body), "version": .number(Double($0.version))])]) }
                let last = start + slice.count >= all.count
                return FakeServer.json(.ok, JSONValue.object(["values": .array(values), "isLastPage": .bool(last), "start": .number(Double(start)),
                                                              "nextPageStart": last ? .null : .number(Double(start + slice.count))]).canonicalText)
            }
            router.post("\(prefix)/rest/api/latest/projects/:key/repos/:slug/pull-requests/:id/comments") { request, context in
                let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
                self.traffic.record(request, body: text)
                guard self.authorized(request) else { return FakeServer.json(.unauthorized, #"{"errors":[{"message":"Authentication failed."}]}"#) }
                guard let body = (try? JSONValue.parse(Data(text.utf8)))?["text"]?.stringValue else { return FakeServer.json(.badRequest, #"{"errors":[{"message":"text is required"}]}"#) }
                let c = self.comments.create("dc:\(context.parameters.get("key") ?? "")/\(context.parameters.get("slug") ?? "")#\(context.parameters.get("id") ?? "")", body: body)
                return FakeServer.json(.created, #"{"id":\#(c.id),"version":0}"#)
            }
            router.put("\(prefix)/rest/api/latest/projects/:key/repos/:slug/pull-requests/:id/comments/:cid") { request, context in
                let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
                self.traffic.record(request, body: text)
                guard self.authorized(request) else { return FakeServer.json(.unauthorized, #"{"errors":[{"message":"Authentication failed."}]}"#) }
                let thread = "dc:\(context.parameters.get("key") ?? "")/\(context.parameters.get("slug") ?? "")#\(context.parameters.get("id") ?? "")"
                guard let json = try? JSONValue.parse(Data(text.utf8)), let body = json["text"]?.stringValue, case .number(let v)? = json["version"],
                      let cid = Int(context.parameters.get("cid") ?? "") else {
                    return FakeServer.json(.badRequest, #"{"errors":[{"message":"text and version are required"}]}"#)
                }
                guard self.comments.edit(thread, id: cid, body: body, version: Int(v)) != nil else {
                    return FakeServer.json(.conflict, #"{"errors":[{"message":"You are attempting to modify a comment based on out-of-date information."}]}"#)
                }
                return FakeServer.json(.ok, #"{"id":\#(cid)}"#)
            }
            router.post("\(prefix)/rest/api/latest/projects/:key/repos/:slug/commits/:sha/builds") { request, context in
                let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
                self.traffic.record(request, body: text)
                guard self.authorized(request) else { return FakeServer.json(.unauthorized, #"{"errors":[{"message":"Authentication failed."}]}"#) }
                if let scripted = try await self.traffic.scripted() { return scripted }
                guard case .object(let f)? = try? JSONValue.parse(Data(text.utf8)) else { return FakeServer.json(.badRequest, #"{"errors":[{"message":"Invalid JSON"}]}"#) }
                guard Self.validURL(f["url"]?.stringValue), let key = f["key"]?.stringValue, !key.isEmpty,
                      let st = f["state"]?.stringValue, ["INPROGRESS", "SUCCESSFUL", "FAILED", "CANCELLED", "UNKNOWN"].contains(st) else {
                    return FakeServer.json(.badRequest, #"{"errors":[{"context":null,"message":"key, state and a valid url are required","exceptionName":"com.atlassian.bitbucket.validation.ArgumentValidationException"}]}"#)
                }
                if let d = f["description"]?.stringValue, d.count > 255 { return FakeServer.json(.badRequest, #"{"errors":[{"message":"description is too long"}]}"#) }
                let repo = "\(context.parameters.get("key") ?? "")/\(context.parameters.get("slug") ?? "")"
                _ = self.upsert(Build(flavor: "dc", repo: repo, sha: context.parameters.get("sha") ?? "", key: key, state: st, name: f["name"]?.stringValue,
                                      description: f["description"]?.stringValue, url: f["url"]?.stringValue ?? "", ref: f["ref"]?.stringValue))
                return Response(status: .noContent)
            }
        }
    }
}
