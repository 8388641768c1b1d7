import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The real `statussync` binary, run as a child process.
final class ServeProcess: @unchecked Sendable {
    let process: Process
    let port: Int
    let logURL: URL

    private init(process: Process, port: Int, logURL: URL) {
        self.process = process
        self.port = port
        self.logURL = logURL
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Starts `statussync serve --config <config>` and waits until /healthz answers.
    static func start(config: String, port: Int, dir: TempDirectory, environment: [String: String] = [:], tag: String = "serve") async throws -> ServeProcess {
        try await start(arguments: ["serve", "--config", config], port: port, dir: dir, environment: environment, tag: tag)
    }

    /// Starts the binary with `arguments` and waits until /healthz on `port` answers.
    static func start(arguments: [String], port: Int, dir: TempDirectory, environment: [String: String] = [:], tag: String) async throws -> ServeProcess {
        let logURL = dir.url.appending(path: "\(tag)-\(UUID().uuidString.prefix(6)).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let process = Process()
        process.executableURL = TestPaths.binary
        process.arguments = arguments
        process.currentDirectoryURL = dir.url
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let handle = try FileHandle(forWritingTo: logURL)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        let serve = ServeProcess(process: process, port: port, logURL: logURL)
        // Short probes: AHC retries refused connections until the request's deadline.
        let healthy = await eventually(timeout: .seconds(20), every: .milliseconds(10)) {
            guard process.isRunning else { return true }
            return await HTTP.get("\(serve.baseURL)/healthz", timeout: .milliseconds(200)) == 200
        }
        guard healthy, process.isRunning else {
            throw TestFailure("serve did not become healthy:\n\(serve.log)")
        }
        return serve
    }

    /// Sends `signal` and waits for the process to exit without blocking a cooperative thread
    /// (the fake provider serving the process runs on the same thread pool).
    func kill(_ signal: Int32 = SIGKILL) async {
        Foundation.kill(process.processIdentifier, signal)
        await waitForExit()
    }

    func waitForExit() async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Runs a CLI subcommand to completion: exit status, stdout, stderr. The blocking reads run
    /// off the cooperative pool.
    static func cli(_ arguments: [String], environment: [String: String] = [:], in dir: TempDirectory) async throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = TestPaths.binary
        process.arguments = arguments
        process.currentDirectoryURL = dir.url
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let errData = Mutex(Data())
                let group = DispatchGroup()
                DispatchQueue.global().async(group: group) {
                    let data = err.fileHandleForReading.readDataToEndOfFile()
                    errData.withLock { $0 = data }
                }
                let outData = out.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                let errText = errData.withLock { String(decoding: $0, as: UTF8.self) }
                continuation.resume(returning: (process.terminationStatus, String(decoding: outData, as: UTF8.self), errText))
            }
        }
    }

    /// A TCP port that was free a moment ago, never handed out twice in this process, and below
    /// Linux's ephemeral range (32768–60999), so no test's outgoing connection takes it as its
    /// source port before the server binds it.
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            guard let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait() else { continue }
            try channel.close().wait()
            return port
        }
        throw TestFailure("no free TCP port found in 20000–31999")
    }

    private static let handedOut = Mutex<Set<Int>>([])
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A small HTTP client for driving the server in tests.
enum HTTP {
    static let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                   configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2), read: .seconds(10))))

    /// One GET on a fresh client: AHC's pool backs off after refused connections, which would
    /// delay every later request to a restarted server.
    static func get(_ url: String, timeout: Duration = .seconds(2)) async -> Int? {
        let fresh = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let ms = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        var status: Int? = nil
        if let response = try? await fresh.execute(request, timeout: .milliseconds(ms)) {
            _ = try? await response.body.collect(upTo: 1 << 20)
            status = Int(response.status.code)
        }
        try? await fresh.shutdown()
        return status
    }

    static func getText(_ url: String) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let response = try await client.execute(request, timeout: .seconds(5))
        return String(buffer: try await response.body.collect(upTo: 1 << 22))
    }

    static func post(_ url: String, _ body: Data, headers: [(String, String)] = [("Content-Type", "application/json")], timeout: Int64 = 30,
                     using client: HTTPClient = client) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (n, v) in headers { request.headers.add(name: n, value: v) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(timeout))
        let buffer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: buffer))
    }
}
