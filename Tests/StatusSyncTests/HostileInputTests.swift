import Foundation
import Testing
@testable import StatusSyncCLI
@testable import StatusSyncCore
@testable import StatusSyncStore

/// Values from outside (workflow names, contexts, descriptions, providers' messages) cannot cut
/// stored text, forge log lines or table rows (docs/design.md#display-escaping).
@Suite("Hostile input: NUL, non-string metadata, control characters")
struct HostileInputTests {
    static let workflow = WorkflowRef(namespace: "ci", name: "build-1", uid: "uid-1")

    func parse(_ fields: [String: String]) -> Result<StatusRequest, PluginBodyError> {
        Result { () throws(PluginBodyError) in
            try StatusRequest.parse(body: .object(fields.mapValues(JSONValue.string)), workflow: Self.workflow, rules: CallFactory.rules)
        }
    }

    @Test("A NUL in any stored field of the plugin body is a Failed node naming the field (nothing is cut)", arguments: ["context", "description", "repo", "targetURL", "key"])
    func nulInPluginBody(field: String) throws {
        var fields = CallFactory.status("Running")
        fields[field] = (fields[field] ?? "https://example.com/x") + "\u{0}evil"
        guard case .failure(let error) = parse(fields) else {
            Issue.record("a \(field) with NUL was accepted")
            return
        }
        #expect(error.message.contains(field) && error.message.contains("NUL"), "\(error.message)")
    }

    @Test("Two contexts that differ after a NUL are not stored as one: both calls are rejected")
    func nulContextsThroughTheStore() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        for suffix in ["one", "two"] {
            let result = try await store.accept(CallFactory.call(CallFactory.status("Running", context: "nulctx\u{0}\(suffix)")))
            #expect(result.updateID == nil)
            #expect(result.reply.phase == .failed && result.reply.message.contains("context contains a NUL"), "\(result.reply.message)")
        }
        #expect(try await store.history(HistoryFilter()).isEmpty)
        #expect(try await store.calls({ var f = CallsFilter(); f.rejectedOnly = true; return f }()).count == 2)
    }

    @Test("workflow.metadata name, namespace and uid must be strings without NUL: else 400", arguments: [
        (#"{"workflow":{"metadata":{"name":42,"namespace":"ci","uid":"u"}},"template":{"name":"t","plugin":{}}}"#, "workflow.metadata.name is a number"),
        (#"{"workflow":{"metadata":{"name":"w","namespace":"ci","uid":7}},"template":{"name":"t","plugin":{}}}"#, "workflow.metadata.uid is a number"),
        (#"{"workflow":{"metadata":{"name":"w","namespace":["ci"],"uid":"u"}},"template":{"name":"t","plugin":{}}}"#, "workflow.metadata.namespace is an array"),
        (#"{"workflow":{"metadata":{"name":"w\u0000x","namespace":"ci","uid":"u"}},"template":{"name":"t","plugin":{}}}"#, "workflow.metadata.name contains a NUL"),
    ])
    func metadataTypes(body: String, expected: String) {
        #expect(throws: ArgsError.self) { try ExecuteTemplateArgs.parse(Data(body.utf8)) }
        do {
            _ = try ExecuteTemplateArgs.parse(Data(body.utf8))
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test("Metadata fields that are absent or null stay empty (Argo before v3.4.2 sends no uid)")
    func metadataAbsent() throws {
        let args = try ExecuteTemplateArgs.parse(Data(#"{"workflow":{"metadata":{"name":"w","namespace":"ci","uid":null}},"template":{"name":"t"}}"#.utf8))
        #expect(args.workflow == WorkflowRef(namespace: "ci", name: "w", uid: ""))
    }

    @Test("Control characters are escaped for display; other text is unchanged")
    func escaping() {
        #expect("plain text, ünïcode ✓".escapingControlCharacters == "plain text, ünïcode ✓")
        #expect("a\nb\rc\td".escapingControlCharacters == #"a\nb\rc\td"#)
        #expect("\u{1b}[2J\u{7}\u{8}\u{7f}\u{85}".escapingControlCharacters == #"\x1b[2J\x07\x08\x7f\x85"#)
        #expect("x\u{2028}y\u{2029}".escapingControlCharacters == #"x\u2028y\u2029"#)
        #expect("nul\u{0}".escapingControlCharacters == #"nul\x00"#)
    }

    @Test("Log lines: a value with control characters is quoted and escaped, so it cannot start or overwrite a line")
    func logfmt() {
        let quoted = LogfmtHandler.quote("build\r\u{1b}[1Aok level=error\nforged")
        #expect(quoted == #""build\r\x1b[1Aok level=error\nforged""#)
        #expect(!quoted.unicodeScalars.contains { $0.value < 0x20 })
        #expect(LogfmtHandler.quote("line\u{2028}sep") == #""line\u2028sep""#)
        #expect(LogfmtHandler.quote("simple") == "simple")
    }

    @Test("Tables: a cell with a newline or ESC cannot add or hide a row")
    func table() {
        var table = TextTable(["ID", "CONTEXT"])
        table.add(["1", "ci\n2  forged-row"])
        table.add(["3", "\u{1b}[2Khidden"])
        let lines = table.render().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3)
        #expect(lines[1].hasSuffix(#"ci\n2  forged-row"#))
        #expect(lines[2].hasSuffix(#"\x1b[2Khidden"#))
    }
}

/// The same through the real binary: serve's log and the CLI's tables escape what a caller sent;
/// `--json` keeps it exact.
@Suite("Hostile input through the binary")
struct HostileInputEndToEndTests {
    @Test("A workflow name and context with ESC, CR and U+2028 neither forge log lines nor table rows")
    func escapedInLogsAndTables() async throws {
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            let port = try ServeProcess.freePort()
            let config = try EndToEndTests.writeConfig(dir, port: port, fake: fake)
            let serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: ["E2E_GITHUB_TOKEN": fake.token])
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            let workflow = WorkflowRef(namespace: "ci", name: "evil\u{1b}[2J\rlevel=error msg=forged", uid: "uid-evil")
            let body = CallFactory.argsJSON(CallFactory.status("Succeeded", context: "ctx\nID  forged\u{2028}row"), workflow: workflow)
            let (code, reply) = try await HTTP.post("\(serve.baseURL)/api/v1/template.execute", body)
            #expect(code == 200, "\(reply)")
            let id = try #require(EndToEndTests.updateID(reply))
            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            #expect(try await eventually { try await store.detail(id: id)?.update.delivery.status == .delivered })

            let log = serve.log
            #expect(log.contains(#"evil\x1b[2J\rlevel=error msg=forged"#), "\(log.suffix(2000))")
            #expect(!log.unicodeScalars.contains { $0 == "\u{1b}" || $0 == "\r" || $0 == "\u{2028}" })

            let db = ["--database", dir.path("statussync.sqlite")]
            for command in [["history"], ["calls"], ["show", String(id)]] {
                let out = try await ServeProcess.cli(command + db, in: dir)
                #expect(out.status == 0)
                #expect(!out.out.unicodeScalars.contains { $0 == "\u{1b}" || $0 == "\r" || $0 == "\u{2028}" }, "\(command): \(out.out)")
            }
            let history = try await ServeProcess.cli(["history"] + db, in: dir)
            #expect(history.out.split(separator: "\n").count == 2, "a header and one row: \(history.out)")
            #expect(history.out.contains(#"ctx\nID  forged\u2028row"#))
            let json = try await ServeProcess.cli(["history", "--json"] + db, in: dir)
            guard case .array(let rows) = try JSONValue.parse(Data(json.out.utf8)) else { Issue.record("history --json: \(json.out)"); return }
            #expect(rows.first?["context"]?.stringValue == "ctx\nID  forged\u{2028}row", "--json is exact")
            #expect(rows.first?["workflow"]?["name"]?.stringValue == workflow.name)
        }
    }
}
