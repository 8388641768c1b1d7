import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

/// The dashboard in a real browser: Debian's headless Chromium loads each page from a running
/// `statussync serve`, and the DOM it builds is checked (so is the screenshot it takes).
/// `.ci/run` installs Chromium when it is missing.
@Suite("Dashboard in headless Chromium")
struct DashboardBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs Chromium headless with `arguments` and returns what it printed on stdout.
    static func chromium(_ arguments: [String], in dir: TempDirectory) throws -> String {
        let binary = try #require(chromium, "headless Chromium is needed: apt-get install -y chromium (.ci/run does)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--user-data-dir=\(dir.path("chromium-profile"))", "--window-size=1280,900"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "chromium \(arguments)")
        return String(decoding: data, as: UTF8.self)
    }

    @Test("Each page loads in Chromium with its content; an injected <script> and onerror stay text; screenshots are written")
    func pagesInBrowser() async throws {
        let dir = try TempDirectory()
        let shots = ProcessInfo.processInfo.environment["STATUSSYNC_SCREENSHOTS"].map { URL(fileURLWithPath: $0) } ?? dir.url
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        try await FakeGitHub.run { fake in
            fake.enqueue(.serverError(502))
            let port = try ServeProcess.freePort()
            let uiPort = try ServeProcess.freePort()
            let config = try EndToEndTests.writeConfig(dir, port: port, fake: fake, extra: "ui: {listen: 127.0.0.1:\(uiPort)}")
            let serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: ["E2E_GITHUB_TOKEN": fake.token])
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            let hostile = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
            var ids: [Int64] = []
            for (n, state) in ["Running", "Succeeded", "Failed"].enumerated() {
                let (code, reply) = try await HTTP.post("\(serve.baseURL)/api/v1/template.execute",
                                                        CallFactory.argsJSON(CallFactory.status(state, context: "ci/step-\(n)", description: hostile)))
                #expect(code == 200, "\(reply)")
                ids.append(try #require(EndToEndTests.updateID(reply)))
            }
            _ = try await HTTP.post("\(serve.baseURL)/api/v1/template.execute", CallFactory.argsJSON(["repo": "my-org/app", "sha": CallFactory.sha, "state": "Bogus"]))
            let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            #expect(try await eventually { try await store.backlogSummary().isEmpty })

            // The 502 goes to whichever status is sent first (finals go first when they are queued
            // together, so that depends on timing): show the update that received it.
            var retried = ids[0]
            for id in ids {
                let attempts = try await store.detail(id: id)?.attempts ?? []
                if attempts.contains(where: { $0.httpStatus == 502 }) { retried = id }
            }
            let base = "http://127.0.0.1:\(uiPort)"
            let pages: [(path: String, name: String, expected: [String])] = [
                ("/", "overview", ["Updates by delivery status", "delivered", "github"]),
                ("/updates", "updates", ["ci/step-0", "ci/step-2", "rel=\"next\"" ]),
                ("/updates/\(retried)", "update", ["Delivery attempts", "<td>502</td>", "<td>201</td>", "&lt;script&gt;document.title='pwned'&lt;/script&gt;"]),
                ("/calls?rejected=1", "calls-rejected", ["unknown state", "Bogus"]),
                ("/backlog", "backlog", ["The backlog is empty"]),
            ]
            for page in pages {
                let dom = try Self.chromium(["--dump-dom", base + page.path], in: dir)
                for text in page.expected where text != "rel=\"next\"" {
                    #expect(dom.contains(text), "\(page.path): \(text) missing in\n\(dom.prefix(3000))")
                }
                #expect(!dom.contains("<script"), "\(page.path): a script element was created")
                #expect(!dom.contains("<img"), "\(page.path): an img element was created")
                #expect(!dom.contains("<title>pwned"), "\(page.path): injected code ran")
                let shot = shots.appending(path: "dashboard-\(page.name).png")
                _ = try Self.chromium(["--screenshot=\(shot.path)", base + page.path], in: dir)
                let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
                #expect(size > 10_000, "\(page.name): screenshot of \(size) bytes")
            }
        }
    }
}
