import Foundation
import Hummingbird
import NIOCore
import Synchronization
@testable import StatusSyncCore

/// The Argo Server's `PUT /api/v1/workflows/{namespace}/{name}/resubmit`, as
/// provider-specs/argo-server-resubmit.json describes it: Bearer auth (401 Unauthenticated),
/// the body checked against WorkflowResubmitRequest (400 InvalidArgument), a workflow it does
/// not know is 404 NotFound, and the answer is the NEW workflow, labelled with the one it came
/// from. Errors are grpc-gateway bodies `{code, message, details}`.
/// And, as provider-specs/argo-server-list-and-userinfo.json describes them,
/// `GET /api/v1/workflows/{namespace}` (only the declared query parameters,
/// `listOptions.labelSelector` matched against the resubmitted-from label, `fields` honoured,
/// creation times in whole seconds) and `GET /api/v1/userinfo` (the token's service account).
final class FakeArgoServer: Sendable {
    struct Resubmit: Sendable, Equatable {
        var namespace: String
        var name: String
        var memoized: Bool?
        var newName: String
    }

    /// A workflow the server made by resubmitting another.
    struct Made: Sendable {
        var namespace: String
        var name: String
        var from: String
        var created: Date
    }

    struct State {
        var workflows: Set<String> = []
        var resubmits: [Resubmit] = []
        var made: [Made] = []
        var violations: [String] = []
        /// Resubmits carried out whose answer is then lost (a gateway's 504).
        var answersToLose = 0
        var listDenied = false
        var lists = 0
    }

    let token: String
    let traffic = FakeTraffic()
    private let state = Mutex(State())
    private let portBox = Mutex(0)
    var port: Int { portBox.withLock { $0 } }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The request body's schema (WorkflowResubmitRequest) from the official fragment.
    static let requestSchema: JSONValue = {
        let spec = try! JSONValue.parse(try! TestPaths.argoServerResubmitSpec())
        return spec["definitions"]!["io.argoproj.workflow.v1alpha1.WorkflowResubmitRequest"]!
    }()

    /// The query parameters ListWorkflows declares.
    static let listParameters: Set<String> = {
        let spec = try! JSONValue.parse(try! TestPaths.argoServerListSpec())
        guard case .array(let parameters)? = spec["paths"]?["/api/v1/workflows/{namespace}"]?["get"]?["parameters"] else { return [] }
        return Set(parameters.compactMap { $0["in"]?.stringValue == "query" ? $0["name"]?.stringValue : nil })
    }()

    /// GetUserInfoResponse's schema from the official fragment.
    static let userInfoSchema: JSONValue = {
        let spec = try! JSONValue.parse(try! TestPaths.argoServerListSpec())
        return spec["definitions"]!["io.argoproj.workflow.v1alpha1.GetUserInfoResponse"]!
    }()

    init(token: String) { self.token = token }

    func addWorkflow(namespace: String, name: String) { state.withLock { _ = $0.workflows.insert("\(namespace)/\(name)") } }
    /// A workflow resubmitted from `from` by someone else, at `created`.
    func addResubmitted(namespace: String, name: String, from: String, created: Date) {
        state.withLock { $0.made.append(Made(namespace: namespace, name: name, from: from, created: created)) }
    }
    var resubmits: [Resubmit] { state.withLock { $0.resubmits } }
    var violations: [String] { state.withLock { $0.violations } }
    var lists: Int { state.withLock { $0.lists } }
    /// The next `count` resubmits are carried out, and their answers lost.
    func loseAnswers(_ count: Int) { state.withLock { $0.answersToLose = count } }
    func denyList(_ denied: Bool) { state.withLock { $0.listDenied = denied } }

    static func run<T: Sendable>(token: String = "argo-token-0123", _ body: @Sendable (FakeArgoServer) async throws -> T) async throws -> T {
        let fake = FakeArgoServer(token: token)
        return try await FakeServer.run(install: { router in
            router.put("/api/v1/workflows/:namespace/:name/resubmit") { request, context in
                try await fake.resubmit(request, context)
            }
            router.get("/api/v1/workflows/:namespace") { request, context in
                fake.list(request, context)
            }
            router.get("/api/v1/userinfo") { request, _ in
                fake.userInfo(request)
            }
        }, started: { port in fake.portBox.withLock { $0 = port } }) { try await body(fake) }
    }

    private static func grpcError(_ status: HTTPResponse.Status, code: Int, _ message: String) -> Response {
        var text = "{\"code\":\(code),\"message\":"
        JSONValue.writeQuoted(message, into: &text)
        return FakeServer.json(status, text + ",\"details\":[]}")
    }

    private func resubmit(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        traffic.record(request, body: String(buffer: buffer))
        if let scripted = try await traffic.scripted() { return scripted }
        guard request.headers[.authorization] == "Bearer \(token)" else {
            return Self.grpcError(.unauthorized, code: 16, "token not valid. JWT token error: token contains an invalid number of segments")
        }
        let namespace = context.parameters.get("namespace") ?? ""
        let name = context.parameters.get("name") ?? ""
        guard let body = try? JSONValue.parse(Data(buffer: buffer)) else {
            return Self.grpcError(.badRequest, code: 3, "invalid character in request body")
        }
        if let violation = CheckRunSchema.check(body, against: Self.requestSchema, at: "body") {
            state.withLock { $0.violations.append(violation) }
            return Self.grpcError(.badRequest, code: 3, violation)
        }
        // grpc-gateway fills namespace and name from the path; a body that says otherwise is a client bug.
        if let n = body["namespace"]?.stringValue, n != namespace { state.withLock { $0.violations.append("body namespace \(n) != path \(namespace)") } }
        if let n = body["name"]?.stringValue, n != name { state.withLock { $0.violations.append("body name \(n) != path \(name)") } }
        let known = state.withLock { $0.workflows.contains("\(namespace)/\(name)") }
        guard known else {
            return Self.grpcError(.notFound, code: 5, "workflows.argoproj.io \"\(name)\" not found")
        }
        let (newName, lost) = state.withLock { s -> (String, Bool) in
            let made = "\(name)-\(String(format: "%05d", s.resubmits.count + 1))"
            s.resubmits.append(Resubmit(namespace: namespace, name: name, memoized: { if case .bool(let b)? = body["memoized"] { return b } else { return nil } }(), newName: made))
            s.made.append(Made(namespace: namespace, name: made, from: name, created: Self.wholeSeconds(Date())))
            let lost = s.answersToLose > 0
            if lost { s.answersToLose -= 1 }
            return (made, lost)
        }
        if lost {
            // The server acted; the gateway in front of it gave up waiting.
            return Response(status: .gatewayTimeout, headers: [.contentType: "text/html"],
                            body: .init(byteBuffer: ByteBuffer(string: "<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>")))
        }
        let workflow: JSONValue = .object([
            "apiVersion": .string("argoproj.io/v1alpha1"), "kind": .string("Workflow"),
            "metadata": .object([
                "name": .string(newName), "namespace": .string(namespace),
                "labels": .object(["workflows.argoproj.io/resubmitted-from-workflow": .string(name)]),
            ]),
            "spec": .object([:]), "status": .object([:]),
        ])
        return FakeServer.json(.ok, workflow.canonicalText)
    }

    /// Kubernetes keeps creation times in whole seconds.
    static func wholeSeconds(_ date: Date) -> Date { Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)) }

    private func list(_ request: Request, _ context: BasicRequestContext) -> Response {
        traffic.record(request, body: "")
        state.withLock { $0.lists += 1 }
        guard request.headers[.authorization] == "Bearer \(token)" else {
            return Self.grpcError(.unauthorized, code: 16, "token not valid. JWT token error: token contains an invalid number of segments")
        }
        let namespace = context.parameters.get("namespace") ?? ""
        if state.withLock({ $0.listDenied }) {
            return Self.grpcError(.forbidden, code: 7, "Permission denied, you are not allowed to list workflows in namespace \"\(namespace)\". Maybe you want to specify a namespace with query parameter `.namespace=\(namespace)`?")
        }
        let query = request.uri.queryParameters
        for (key, _) in query where !Self.listParameters.contains(String(key)) {
            state.withLock { $0.violations.append("list: query parameter \(key) is not declared") }
            return Self.grpcError(.badRequest, code: 3, "unknown query parameter \(key)")
        }
        // The selector statussync sends: one label, key=value.
        var from: String?
        if let selector = query["listOptions.labelSelector"].map(String.init) {
            let parts = selector.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] == "workflows.argoproj.io/resubmitted-from-workflow" else {
                state.withLock { $0.violations.append("list: unexpected selector \(selector)") }
                return Self.grpcError(.badRequest, code: 3, "unable to parse requirement: \(selector)")
            }
            from = parts[1]
        }
        let fields = query["fields"].map { Set($0.split(separator: ",").map(String.init)) }
        let made = state.withLock { s in s.made.filter { $0.namespace == namespace && (from == nil || $0.from == from) } }
        let items: [JSONValue] = made.map { m in
            var metadata: [String: JSONValue] = [
                "name": .string(m.name), "namespace": .string(m.namespace),
                "creationTimestamp": .string(Timestamp.rfc3339(Timestamp.ms(m.created)).replacingOccurrences(of: ".000Z", with: "Z")),
                "labels": .object(["workflows.argoproj.io/resubmitted-from-workflow": .string(m.from)]),
            ]
            var item: [String: JSONValue] = ["apiVersion": .string("argoproj.io/v1alpha1"), "kind": .string("Workflow"),
                                             "spec": .object([:]), "status": .object(["phase": .string("Running")])]
            if let fields {
                metadata = metadata.filter { fields.contains("items.metadata.\($0.key)") }
                item = [:]
            }
            item["metadata"] = .object(metadata)
            return .object(item)
        }
        let answer: JSONValue = .object(["metadata": .object(["resourceVersion": .string("4711")]), "items": items.isEmpty ? .null : .array(items)])
        return FakeServer.json(.ok, answer.canonicalText)
    }

    private func userInfo(_ request: Request) -> Response {
        traffic.record(request, body: "")
        guard request.headers[.authorization] == "Bearer \(token)" else {
            return Self.grpcError(.unauthorized, code: 16, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/")
        }
        let info: JSONValue = .object([
            "subject": .string("system:serviceaccount:argo:statussync-resubmit"), "issuer": .string("kubernetes/serviceaccount"),
            "serviceAccountName": .string("statussync-resubmit"), "serviceAccountNamespace": .string("argo"),
        ])
        if let violation = CheckRunSchema.check(info, against: Self.userInfoSchema, at: "userinfo") {
            state.withLock { $0.violations.append(violation) }
        }
        return FakeServer.json(.ok, info.canonicalText)
    }
}
