import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import NIOPosix

// The machine's ceilings for bench/: how fast a trivial Hummingbird route answers, and how many
// single-row synchronous=FULL SQLite commits per second the disk takes. statussync's figures are
// printed as ratios to these.
//
//   BenchCeiling http PORT          serve POST /api/v1/template.execute → 200 {} (body read)
//   BenchCeiling sqlite DIR [N]     N single-row commits at synchronous=FULL in WAL mode
//   BenchCeiling fake-github PORT   a fast GitHub statuses API for benchmarks: 201 for every
//                                   status (counted; the count is printed on SIGTERM/SIGINT)

let args = CommandLine.arguments
switch args.dropFirst().first {
case "http":
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    let port = Int(args[2]) ?? 3999
    let router = Router()
    router.post("/api/v1/template.execute") { request, _ -> Response in
        _ = try await request.body.collect(upTo: 1 << 20)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
    }
    var logger = Logger(label: "ceiling")
    logger.logLevel = .warning
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    try await app.runService()
case "sqlite":
    let dir = args.count > 2 ? args[2] : NSTemporaryDirectory()
    let n = args.count > 3 ? Int(args[3]) ?? 3000 : 3000
    let path = (dir as NSString).appendingPathComponent("ceiling-\(getpid()).sqlite")
    var config = Configuration()
    config.journalMode = .wal
    let pool = try DatabasePool(path: path, configuration: config)
    try pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = FULL")
        try db.execute(sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    }
    let row = String(repeating: "x", count: 200)
    let start = ContinuousClock.now
    for _ in 0..<n {
        try pool.write { db in try db.execute(sql: "INSERT INTO t(v) VALUES (?)", arguments: [row]) }
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(String(format: "sqlite_full_commits_per_s=%.0f", Double(n) / seconds))
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
case "fake-github":
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    let port = Int(args[2]) ?? 3997
    let counter = Counter()
    let router = Router()
    router.post("/repos/:owner/:repo/statuses/:sha") { request, _ -> Response in
        _ = try await request.body.collect(upTo: 1 << 20)
        let n = counter.next()
        return Response(status: .created, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: "{\"id\":\(n),\"state\":\"success\"}")))
    }
    router.get("/repos/:owner/:repo/pulls/:number") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: "{\"head\":{\"sha\":\"6dcb09b5b57875f334f61aebed695e2e4193db5e\"}}")))
    }
    var logger = Logger(label: "fake-github")
    logger.logLevel = .warning
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    FileHandle.standardError.write(Data("fake_github: \(counter.value) statuses\n".utf8))
default:
    FileHandle.standardError.write(Data("usage: BenchCeiling http PORT | sqlite DIR [N] | fake-github PORT\n".utf8))
    exit(64)
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.withLock { n += 1; return n } }
    var value: Int { lock.withLock { n } }
}
