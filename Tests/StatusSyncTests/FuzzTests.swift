import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import StatusSyncProviders
@testable import StatusSyncCore
@testable import StatusSyncServer
@testable import StatusSyncStore

/// A small deterministic PRNG so every fuzz run is reproducible from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Bounded, seeded fuzzing of the plugin endpoint and the config parser (issue: proof of the
/// guarantees). Seed and iteration count can be raised with STATUSSYNC_FUZZ_SEED / _ITERATIONS.
@Suite("Fuzz: plugin endpoint and config parser")
struct FuzzTests {
    static let seed = UInt64(ProcessInfo.processInfo.environment["STATUSSYNC_FUZZ_SEED"] ?? "") ?? 0x5EED_2026
    static let iterations = Int(ProcessInfo.processInfo.environment["STATUSSYNC_FUZZ_ITERATIONS"] ?? "") ?? 5000

    static let tokens = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800", "null", "true", "1e999", "-0", "\u{0}", "é", "👍",
                         "\"statussync\"", "\"repo\"", "\"sha\"", "\"pr\"", "\"state\"", "\"key\"", "\"wait\"", "\"plugin\"", "\"workflow\"",
                         "\"Succeeded\"", "\"Running\"", "\"my-org/app\"", "\"6dcb09b\"", "\"42\"", "{\"statussync\":{}}", String(repeating: "[", count: 300)]

    /// Valid agent-shaped bodies of our key to start mutating from.
    static func seeds() throws -> [Data] {
        var out: [Data] = []
        for name in ["01-exit-hook-status.request.json", "02-hook-expression-true-started.request.json", "03-batch-params-retry.request.json",
                     "04-unhandled-plugin-slack.request.json", "05-wire-compact-html-escaped.request.json"] {
            let text = String(decoding: try TestPaths.argoFixture(name), as: UTF8.self)
                .replacingOccurrences(of: "statusReporter", with: "statussync").replacingOccurrences(of: "batchJob", with: "statussync")
            out.append(Data(text.utf8))
        }
        out.append(CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "Succeeded", "context": "ci", "key": "k"]))
        out.append(CallFactory.argsJSON(["repo": "my-org/app", "pr": "12", "state": "Running", "wait": "true", "description": "d"]))
        return out
    }

    static func mutate(_ data: Data, _ rng: inout SplitMix64) -> Data {
        var bytes = [UInt8](data)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !bytes.isEmpty:
                bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &rng)...)
            case 2:
                let token = Array(tokens.randomElement(using: &rng)!.utf8)
                bytes.insert(contentsOf: token, at: Int.random(in: 0...bytes.count, using: &rng))
            case 3 where bytes.count > 2:
                let a = Int.random(in: 0..<bytes.count, using: &rng)
                let b = min(bytes.count, a + Int.random(in: 1...40, using: &rng))
                bytes.removeSubrange(a..<b)
            case 4:
                // Structure-aware: replace a string value of the plugin body with another type.
                let text = String(decoding: bytes, as: UTF8.self)
                let replacement = ["1", "true", "null", "[]", "{}", "\"\"", "\"\(String(repeating: "x", count: 300))\"", "\"INVALID\"", "-5"].randomElement(using: &rng)!
                if let range = text.range(of: #""(repo|sha|pr|state|status|context|key|wait|targetURL|description|provider)":"[^"]*""#, options: .regularExpression) {
                    let key = text[range].split(separator: ":")[0]
                    bytes = Array(text.replacingCharacters(in: range, with: "\(key):\(replacement)").utf8)
                }
            case 5 where bytes.count > 1:
                let a = Int.random(in: 0..<bytes.count, using: &rng)
                bytes.insert(contentsOf: bytes[a..<min(bytes.count, a + 20)], at: Int.random(in: 0...bytes.count, using: &rng))
            default:
                bytes.append(contentsOf: Array(" \n\t".utf8))
            }
        }
        return Data(bytes)
    }

    @Test("Mutated agent bodies and headers: no crash, no 5xx but 503, nothing invalid stored, every rejection explained")
    func pluginEndpoint() async throws {
        let h = try PluginEndpointTests.harness(tokenFile: true, maxBody: 16 * 1024)
        let seeds = try Self.seeds()
        let authHeaders = ["Bearer k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9", "Bearer k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9 ", "bearer k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9",
                           "Bearer ", "", "Basic abc", "Bearer k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x", String(repeating: "B", count: 5000)]
        let statuses = try await h.app.test(.router) { client -> [Int: Int] in
            var rng = SplitMix64(seed: Self.seed)
            var statuses: [Int: Int] = [:]
            for i in 0..<Self.iterations {
                let body = i % 10 == 0 ? seeds[i / 10 % seeds.count] : Self.mutate(seeds.randomElement(using: &rng)!, &rng)
                var headers: HTTPFields = [.contentType: "application/json"]
                let auth = i % 7 == 0 ? authHeaders.randomElement(using: &rng)! : authHeaders[0]
                if !auth.isEmpty { headers[.authorization] = auth }
                let (status, text) = try await client.execute(uri: PluginEndpointTests.path, method: .post, headers: headers, body: ByteBuffer(bytes: body)) {
                    (Int($0.status.code), String(buffer: $0.body))
                }
                statuses[status, default: 0] += 1
                #expect([200, 400, 403, 413].contains(status), "iteration \(i) (seed \(Self.seed)): HTTP \(status) \(text)")
                let reply = try JSONValue.parse(Data(text.utf8))
                switch status {
                case 200:
                    if reply != .object([:]) {
                        let phase = reply["node"]?["phase"]?.stringValue
                        #expect(["Succeeded", "Failed", "Running"].contains(phase ?? ""), "iteration \(i): \(text)")
                        let message = reply["node"]?["message"]?.stringValue ?? ""
                        #expect(message.hasPrefix("statussync: ") && message.count > 20, "iteration \(i): unclear message \(text)")
                    }
                default:
                    #expect((reply["error"]?.stringValue?.count ?? 0) > 20, "iteration \(i): unclear error \(text)")
                }
            }
            return statuses
        }
        #expect((statuses[200] ?? 0) > Self.iterations / 10, "the mutations also reach the store: \(statuses)")
        // Every stored update comes from a body that validates, and every stored call is explained.
        let calls = try await h.store.calls({ var f = CallsFilter(); f.limit = 1_000_000; return f }())
        for call in calls {
            if let id = call.updateId {
                let request = try StatusRequest.parse(body: call.body, workflow: call.workflow, rules: CallFactory.rules)
                let update = try #require(try await h.store.detail(id: id)?.update)
                #expect(update.repo == request.repo && update.state == request.state && update.context == request.context)
            } else {
                #expect((call.error?.count ?? 0) > 10, "a rejected call without a reason: \(call.id)")
            }
        }
        let integrity = try await h.store.database.reader.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
        #expect(integrity == "ok")
    }

    @Test("Mutated YAML configs parse or fail with a ConfigError that names the file")
    func configParser() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0xC0FF1E)
        let base = ConfigTests.contractExample
        let lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let junk = [": ", "- ", "{", "}", "[", "]", "\"", "'", "&a", "*a", "!!binary", "~", "0x", "-1", "1e99", "\t", "é", "null", "??", "|", ">", "%TAG"]
        var parsed = 0, rejected = 0
        for i in 0..<Self.iterations {
            var mutated = lines
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let n = Int.random(in: 0..<mutated.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: mutated.remove(at: n); if mutated.isEmpty { mutated = [""] }
                case 1: mutated[n].insert(contentsOf: junk.randomElement(using: &rng)!, at: mutated[n].index(mutated[n].startIndex, offsetBy: Int.random(in: 0...mutated[n].count, using: &rng)))
                case 2: mutated.insert(mutated[Int.random(in: 0..<mutated.count, using: &rng)], at: n)
                default: mutated[n] = String(mutated[n].shuffled(using: &rng))
                }
            }
            do {
                _ = try AppConfig.parse(yaml: mutated.joined(separator: "\n"), source: "fuzz.yaml", catalog: ProviderRegistry.catalog)
                parsed += 1
            } catch {
                rejected += 1
                #expect(error.message.hasPrefix("fuzz.yaml"), "iteration \(i): \(error.message)")
            }
        }
        #expect(parsed > 0 && rejected > 0)
    }
}
