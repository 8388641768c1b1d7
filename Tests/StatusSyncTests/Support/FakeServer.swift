import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// What the fake providers share: a Hummingbird server on 127.0.0.1 that lives for the duration
/// of a test body, and a log of every request with a script of failures to answer on demand.
enum FakeServer {
    /// Runs a server with the routes `install` adds, passing its port to `started`, for `body`.
    static func run<T: Sendable>(install: (Router<BasicRequestContext>) -> Void, started: @escaping @Sendable (Int) -> Void,
                                 _ body: @Sendable () async throws -> T) async throws -> T {
        let router = Router()
        install(router)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "fake-provider")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var it = ports.makeAsyncIterator()
            started(await it.next() ?? 0)
            do {
                let result = try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                tasks.cancelAll()
                throw error
            }
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: String, headers: [(String, String)] = [], contentType: String = "application/json; charset=utf-8") -> Response {
        var fields: HTTPFields = [.contentType: contentType]
        for (n, v) in headers { if let name = HTTPField.Name(n) { fields.append(HTTPField(name: name, value: v)) } }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// A scripted failure for the next write a fake receives; then the fake behaves normally.
enum FakeFailure: Sendable {
    case status(Int, headers: [(String, String)] = [], body: String, contentType: String = "application/json")
    case slow(Duration)
}

/// Requests seen and failures to come, shared by the fakes.
final class FakeTraffic: Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: String
        var at: ContinuousClock.Instant
        /// The query as sent (percent-encoded), if any.
        var query: String? = nil
    }

    private let state = Mutex<(requests: [Request], script: [FakeFailure])>(([], []))

    var requests: [Request] { state.withLock { $0.requests } }
    func enqueue(_ failures: FakeFailure...) { state.withLock { $0.script.append(contentsOf: failures) } }

    func record(_ request: Hummingbird.Request, body: String) {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }  // lower-case names
        let entry = Request(method: request.method.rawValue, path: request.uri.path, headers: headers, body: body, at: .now, query: request.uri.query)
        state.withLock { $0.requests.append(entry) }
    }

    /// The scripted answer for this request, if any (after any scripted delay).
    func scripted() async throws -> Response? {
        while let next = state.withLock({ s -> FakeFailure? in s.script.isEmpty ? nil : s.script.removeFirst() }) {
            switch next {
            case .slow(let d): try await Task.sleep(for: d)
            case .status(let code, let headers, let body, let type): return FakeServer.json(.init(code: code), body, headers: headers, contentType: type)
            }
        }
        return nil
    }
}
