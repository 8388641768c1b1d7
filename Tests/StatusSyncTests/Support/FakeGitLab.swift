import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StatusSyncCore
import Synchronization

/// GitLab's commit-status API as docs/provider-matrix.md#gitlab describes it: projects by
/// numeric id or `%2F`-encoded path, the external-job state machine (pending→pending,
/// running→running and running→pending are 400 "Cannot transition status"; a terminal state
/// creates a new job), `status` (not `state`) in answers, 404 variants, merge requests by iid,
/// `PRIVATE-TOKEN` or Bearer auth, and scripted 409/429/5xx.
final class FakeGitLab: Sendable {
    struct Job: Sendable, Equatable {
        var id: Int
        var projectID: Int
        var sha: String
        var ref: String?
        var name: String
        var status: String
        var description: String?
        var targetURL: String?
    }

    let token: String
    let traffic = FakeTraffic()
    let comments = FakeComments()
    private let state = Mutex<(jobs: [Job], mergeRequests: [String: String], nextID: Int)>(([], [:], 1))
    private let portBox = Mutex(0)
    static let projects: [String: Int] = ["group/sub/project": 42, "my-org/app": 7]

    var baseURL: String { "http://127.0.0.1:\(portBox.withLock { $0 })" }
    var jobs: [Job] { state.withLock { $0.jobs } }
    func setMergeRequest(_ project: String, _ iid: Int, sha: String) { state.withLock { $0.mergeRequests["\(project)!\(iid)"] = sha } }

    init(token: String = "glpat-faketoken0123") { self.token = token }

    static func run<T: Sendable>(_ body: @Sendable (FakeGitLab) async throws -> T) async throws -> T {
        let fake = FakeGitLab()
        return try await FakeServer.run(install: fake.install, started: { port in fake.portBox.withLock { $0 = port } }) { try await body(fake) }
    }

    private func authorized(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("PRIVATE-TOKEN")!] == token || request.headers[.authorization] == "Bearer \(token)"
    }

    private func unauthorized() -> Response { FakeServer.json(.unauthorized, #"{"message":"401 Unauthorized"}"#) }

    /// `:id` as the numeric id or the encoded full path.
    private func project(_ raw: String) -> Int? {
        if let n = Int(raw), Self.projects.values.contains(n) { return n }
        return Self.projects[raw.removingPercentEncoding ?? raw]
    }

    private func projectSegment(_ request: Request) -> String {
        // The raw path keeps %2F: /api/v4/projects/<id>[/…]
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        return parts.count > 3 ? String(parts[3]) : ""
    }

    private func install(_ router: Router<BasicRequestContext>) {
        router.get("/api/v4/user") { request, _ in
            self.traffic.record(request, body: "")
            return self.authorized(request) ? FakeServer.json(.ok, #"{"id":1,"username":"statussync-bot"}"#) : self.unauthorized()
        }
        router.get("/api/v4/projects/:id") { request, _ in
            self.traffic.record(request, body: "")
            guard self.authorized(request) else { return self.unauthorized() }
            guard let id = self.project(self.projectSegment(request)) else { return FakeServer.json(.notFound, #"{"message":"404 Project Not Found"}"#) }
            return FakeServer.json(.ok, #"{"id":\#(id),"path_with_namespace":"x"}"#)
        }
        router.get("/api/v4/projects/:id/merge_requests/:iid") { request, context in
            self.traffic.record(request, body: "")
            guard self.authorized(request) else { return self.unauthorized() }
            guard let id = self.project(self.projectSegment(request)),
                  let path = Self.projects.first(where: { $0.value == id })?.key,
                  let sha = self.state.withLock({ $0.mergeRequests["\(path)!\(context.parameters.get("iid") ?? "")"] }) else {
                return FakeServer.json(.notFound, #"{"message":"404 Not found"}"#)
            }
            return FakeServer.json(.ok, #"{"iid":\#(context.parameters.get("iid") ?? "0"),"sha":"\#(sha)","source_branch":"feature"}"#)
        }
        router.get("/api/v4/projects/:id/merge_requests/:iid/notes") { request, context in
            self.traffic.record(request, body: "")
            guard self.authorized(request) else { return self.unauthorized() }
            guard let id = self.project(self.projectSegment(request)) else { return FakeServer.json(.notFound, #"{"message":"404 Project Not Found"}"#) }
            let thread = "\(id)!\(context.parameters.get("iid") ?? "")"
            let page = Int(request.uri.queryParameters.get("page") ?? "1") ?? 1
            let size = min(100, Int(request.uri.queryParameters.get("per_page") ?? "20") ?? 20)
            let (items, more) = self.comments.page(thread, page: page, size: size)
            return FakeServer.json(.ok, JSONValue.array(items.map { .object(["id": .number(Double($0.id)), "body": .string($0.body), "system": .bool(false)]) }).canonicalText,
                                   headers: [("X-Next-Page", more ? "\(page + 1)" : ""), ("X-Page", "\(page)")])
        }
        router.post("/api/v4/projects/:id/merge_requests/:iid/notes") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return self.unauthorized() }
            guard let id = self.project(self.projectSegment(request)), let body = (try? JSONValue.parse(Data(text.utf8)))?["body"]?.stringValue else {
                return FakeServer.json(.badRequest, #"{"error":"body is missing"}"#)
            }
            let c = self.comments.create("\(id)!\(context.parameters.get("iid") ?? "")", body: body)
            return FakeServer.json(.created, #"{"id":\#(c.id)}"#)
        }
        router.put("/api/v4/projects/:id/merge_requests/:iid/notes/:note") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return self.unauthorized() }
            guard let id = self.project(self.projectSegment(request)), let body = (try? JSONValue.parse(Data(text.utf8)))?["body"]?.stringValue,
                  let note = Int(context.parameters.get("note") ?? ""),
                  self.comments.edit("\(id)!\(context.parameters.get("iid") ?? "")", id: note, body: body) != nil else {
                return FakeServer.json(.notFound, #"{"message":"404 Not found"}"#)
            }
            return FakeServer.json(.ok, #"{"id":\#(note)}"#)
        }
        router.post("/api/v4/projects/:id/statuses/:sha") { request, context in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.traffic.record(request, body: text)
            guard self.authorized(request) else { return self.unauthorized() }
            if let scripted = try await self.traffic.scripted() { return scripted }
            guard let projectID = self.project(self.projectSegment(request)) else { return FakeServer.json(.notFound, #"{"message":"404 Project Not Found"}"#) }
            let sha = context.parameters.get("sha") ?? ""
            guard sha.count >= 7, sha.allSatisfy(\.isHexDigit) else { return FakeServer.json(.notFound, #"{"message":"404 Commit Not Found"}"#) }
            guard let body = try? JSONValue.parse(Data(text.utf8)) else { return FakeServer.json(.badRequest, #"{"error":"body is not valid JSON"}"#) }
            let allowed = ["state", "name", "context", "description", "target_url", "ref", "coverage", "pipeline_id"]
            if let unknown = body.objectValue?.keys.first(where: { !allowed.contains($0) }) {
                return FakeServer.json(.badRequest, #"{"error":"unknown parameter \#(unknown)"}"#)
            }
            guard let requested = body["state"]?.stringValue else { return FakeServer.json(.badRequest, #"{"error":"state is missing"}"#) }
            guard ["pending", "running", "success", "failed", "canceled", "skipped"].contains(requested) else {
                return FakeServer.json(.badRequest, #"{"error":"state does not have a valid value"}"#)
            }
            let description = body["description"]?.stringValue
            if let description, description.count > 255 {
                return FakeServer.json(.badRequest, #"{"message":{"description":["is too long (maximum is 255 characters)"]}}"#)
            }
            let name = body["name"]?.stringValue ?? body["context"]?.stringValue ?? "default"
            let ref = body["ref"]?.stringValue
            return self.state.withLock { s -> Response in
                // The existing running/pending job of this name+ref, as GitLab's service looks it up.
                let index = s.jobs.lastIndex { $0.projectID == projectID && $0.sha == sha && $0.name == name && $0.ref == ref && ($0.status == "pending" || $0.status == "running") }
                if let index {
                    let current = s.jobs[index].status
                    let (event, allowedFrom): (String, [String]) = switch requested {
                    case "pending": ("enqueue", ["created"])
                    case "running": ("run", ["pending"])
                    case "skipped": ("skip", ["pending"])
                    default: ("\(requested)", ["pending", "running"])
                    }
                    guard allowedFrom.contains(current) else {
                        return FakeServer.json(.badRequest, #"{"message":"Cannot transition status via :\#(event) from :\#(current) (Reason(s): Status cannot transition via \"\#(event)\")"}"#)
                    }
                    s.jobs[index].status = requested
                    s.jobs[index].description = description
                    let job = s.jobs[index]
                    return FakeServer.json(.created, Self.entity(job))
                }
                let job = Job(id: s.nextID, projectID: projectID, sha: sha, ref: ref, name: name, status: requested, description: description,
                              targetURL: body["target_url"]?.stringValue)
                s.nextID += 1
                s.jobs.append(job)
                return FakeServer.json(.created, Self.entity(job))
            }
        }
    }

    static func entity(_ job: Job) -> String {
        let fields: [String: JSONValue] = [
            "id": .number(Double(job.id)), "sha": .string(job.sha), "ref": job.ref.map(JSONValue.string) ?? .null,
            "status": .string(job.status), "name": .string(job.name), "description": job.description.map(JSONValue.string) ?? .null,
            "target_url": job.targetURL.map(JSONValue.string) ?? .null, "allow_failure": .bool(false),
        ]
        return JSONValue.object(fields).canonicalText
    }
}

extension Character {
    var isHexDigit: Bool { isASCII && (isNumber || ("a"..."f").contains(self) || ("A"..."F").contains(self)) }
}
