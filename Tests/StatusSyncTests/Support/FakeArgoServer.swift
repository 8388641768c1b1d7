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
final class FakeArgoServer: Sendable {
    struct Resubmit: Sendable, Equatable {
        var namespace: String
        var name: String
        var memoized: Bool?
        var newName: String
    }

    let token: String
    let traffic = FakeTraffic()
    private let state = Mutex<(workflows: Set<String>, resubmits: [Resubmit], violations: [String])>(([], [], []))
    private let portBox = Mutex(0)
    var port: Int { portBox.withLock { $0 } }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The request body's schema (WorkflowResubmitRequest) from the official fragment.
    static let requestSchema: JSONValue = {
        let spec = try! JSONValue.parse(try! TestPaths.argoServerResubmitSpec())
        return spec["definitions"]!["io.argoproj.workflow.v1alpha1.WorkflowResubmitRequest"]!
    }()

    init(token: String) { self.token = token }

    func addWorkflow(namespace: String, name: String) { state.withLock { _ = $0.workflows.insert("\(namespace)/\(name)") } }
    var resubmits: [Resubmit] { state.withLock { $0.resubmits } }
    var violations: [String] { state.withLock { $0.violations } }

    static func run<T: Sendable>(token: String = "argo-token-0123", _ body: @Sendable (FakeArgoServer) async throws -> T) async throws -> T {
        let fake = FakeArgoServer(token: token)
        return try await FakeServer.run(install: { router in
            router.put("/api/v1/workflows/:namespace/:name/resubmit") { request, context in
                try await fake.resubmit(request, context)
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
        let newName = state.withLock { s -> String in
            let made = "\(name)-\(String(format: "%05d", s.resubmits.count + 1))"
            s.resubmits.append(Resubmit(namespace: namespace, name: name, memoized: { if case .bool(let b)? = body["memoized"] { return b } else { return nil } }(), newName: made))
            return made
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
}
