import CMallocTuning
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import StatusSyncCore
import StatusSyncProviders
import StatusSyncStore

// The machine's ceilings for bench/: how fast a trivial Hummingbird route answers, and how many
// single-row synchronous=FULL SQLite commits per second the disk takes. statussync's figures are
// printed as ratios to these.
//
//   BenchCeiling http PORT          serve POST /api/v1/template.execute → 200 {} (body read)
//   BenchCeiling sqlite DIR [N]     N single-row commits at synchronous=FULL in WAL mode
//   BenchCeiling store DIR [N] [C]  the accept path without HTTP: N agent-shaped calls through
//                                   SQLiteStore.accept from C concurrent callers (group commit);
//                                   prints calls/s and the process CPU per call
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
case "store":
    _ = statussync_set_malloc_trim_threshold(8 << 20)  // as statussync serve does
    let dir = args.count > 2 ? args[2] : NSTemporaryDirectory()
    let n = args.count > 3 ? Int(args[3]) ?? 20000 : 20000
    let callers = args.count > 4 ? Int(args[4]) ?? 16 : 16
    let path = (dir as NSString).appendingPathComponent("store-\(getpid()).sqlite")
    // As serve runs it: a background checkpointer beside the writer (STORE_CHECKPOINTER=0: the
    // writer checkpoints by itself every 1000 pages, SQLite's default).
    let background = ProcessInfo.processInfo.environment["STORE_CHECKPOINTER"] != "0"
    let store = SQLiteStore(database: try AppDatabase.openForWriting(path: path, autoCheckpointPages: background ? 8000 : nil))
    if let sql = ProcessInfo.processInfo.environment["STORE_SQL"] {  // experiments: schema changes to measure
        try DatabaseQueue(path: path).write { try $0.execute(sql: sql) }
    }
    let checkpointer = try WALCheckpointer(path: path)
    let checkpoints = Task {
        while background, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            _ = try? await checkpointer.checkpoint()
        }
    }
    let rules = PluginBodyRules(providers: [.init(name: "github", traits: GitHubProvider.traits)], argoBaseURL: "https://argo.example.com")
    // The same calls as bench/plugin_call.lua: each caller is one workflow, every call a new context.
    func call(_ caller: Int, _ i: Int) -> IncomingCall {
        let text = "{\"workflow\":{\"metadata\":{\"name\":\"bench-\(caller)\",\"namespace\":\"ci\",\"uid\":\"uid-\(caller)\"}},"
            + "\"template\":{\"name\":\"report\",\"inputs\":{},\"outputs\":{},\"metadata\":{},\"plugin\":{\"statussync\":"
            + "{\"context\":\"bench-\(caller)-\(i)\",\"repo\":\"my-org/app\",\"sha\":\"6dcb09b5b57875f334f61aebed695e2e4193db5e\",\"state\":\"Succeeded\"}}}}"
        let args = try! ExecuteTemplateArgs.parse(Data(text.utf8))
        return IncomingCall(args: args, argsText: text, pluginKey: "statussync", body: args.plugin["statussync"]!, rules: rules)
    }
    let perCaller = n / callers
    let prepared = (0..<callers).map { c in (0..<perCaller).map { call(c, $0) } }
    func io() -> [String: Double] {  // bytes and write syscalls so far (Linux /proc/self/io)
        let text = (try? String(contentsOfFile: "/proc/self/io", encoding: .utf8)) ?? ""
        return Dictionary(text.split(separator: "\n").compactMap { line in
            let kv = line.split(separator: ":"); return kv.count == 2 ? (String(kv[0]), Double(kv[1].trimmingCharacters(in: .whitespaces)) ?? 0) : nil
        }, uniquingKeysWith: { a, _ in a })
    }
    let ioBefore = io()
    let cpuBefore = clock()
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for calls in prepared {
            group.addTask { for c in calls { _ = try await store.accept(c) } }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    checkpoints.cancel()
    let cpu = Double(clock() - cpuBefore) / Double(CLOCKS_PER_SEC)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let total = perCaller * callers
    let bytes = ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? Int }.reduce(0, +)
    let ioAfter = io()
    let written = (ioAfter["wchar"] ?? 0) - (ioBefore["wchar"] ?? 0), writes = (ioAfter["syscw"] ?? 0) - (ioBefore["syscw"] ?? 0)
    print(String(format: "store_calls_per_s=%.0f cpu_us_per_call=%.1f db_bytes_per_call=%.0f written_bytes_per_call=%.0f write_syscalls_per_call=%.1f calls_per_commit=%.1f calls=%d callers=%d",
                 Double(total) / seconds, cpu * 1e6 / Double(total), Double(bytes) / Double(total), written / Double(total), writes / Double(total), Double(total) / Double(max(store.batchedTransactions, 1)), total, callers))
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
case "parse":
    // CPU per call of the request handling that is ours (no HTTP, no database): parse, validate,
    // canonical body, reply JSON. Prints microseconds per call.
    let n = args.count > 2 ? Int(args[2]) ?? 100_000 : 100_000
    let rules = PluginBodyRules(providers: [.init(name: "github", traits: GitHubProvider.traits)], argoBaseURL: "https://argo.example.com")
    let text = "{\"workflow\":{\"metadata\":{\"name\":\"bench-1\",\"namespace\":\"ci\",\"uid\":\"uid-1\"}},"
        + "\"template\":{\"name\":\"report\",\"inputs\":{},\"outputs\":{},\"metadata\":{},\"plugin\":{\"statussync\":"
        + "{\"context\":\"bench-1-1\",\"repo\":\"my-org/app\",\"sha\":\"6dcb09b5b57875f334f61aebed695e2e4193db5e\",\"state\":\"Succeeded\"}}}}"
    let data = Data(text.utf8)
    func seconds(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        for _ in 0..<n { body() }
        let d = ContinuousClock.now - start
        return (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) * 1e6 / Double(n)
    }
    var sink = 0
    let argsUS = seconds { sink &+= (try? ExecuteTemplateArgs.parse(data))?.templateName.utf8.count ?? 0 }
    let parsed = try ExecuteTemplateArgs.parse(data)
    let body = parsed.plugin["statussync"]!
    let validateUS = seconds { sink &+= (try? StatusRequest.parse(body: body, workflow: parsed.workflow, rules: rules))?.context.utf8.count ?? 0 }
    let canonicalUS = seconds { sink &+= body.canonicalText.utf8.count }
    let textUS = seconds { sink &+= String(decoding: data, as: UTF8.self).utf8.count }
    let outcome = UpdateOutcome(id: 12345, status: .queued, state: .success, repo: "my-org/app", sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
                                pr: nil, context: "bench-1-1", attempts: 0, lastError: nil, linkedID: nil)
    let replyUS = seconds { sink &+= PluginReply.accepted(outcome).jsonText.utf8.count }
    print(String(format: "parse_us=%.2f validate_us=%.2f canonical_us=%.2f args_text_us=%.2f reply_us=%.2f total_us=%.2f (%d)",
                 argsUS, validateUS, canonicalUS, textUS, replyUS, argsUS + validateUS + canonicalUS + textUS + replyUS, sink & 1))
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
    FileHandle.standardError.write(Data("usage: BenchCeiling http PORT | sqlite DIR [N] | store DIR [N] [C] | fake-github PORT\n".utf8))
    exit(64)
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.withLock { n += 1; return n } }
    var value: Int { lock.withLock { n } }
}
