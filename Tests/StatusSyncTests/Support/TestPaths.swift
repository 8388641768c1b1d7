import Foundation

/// Locations the tests read: fixtures committed in the repo, the built binary, temp directories.
enum TestPaths {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = testsDirectory.appending(path: "Fixtures")

    static func argoFixture(_ name: String) throws -> Data {
        try Data(contentsOf: fixtures.appending(path: "argo").appending(path: name))
    }

    static func githubSpec() throws -> Data {
        try Data(contentsOf: fixtures.appending(path: "provider-specs").appending(path: "github-statuses.json"))
    }

    static func githubCheckRunsSpec() throws -> Data {
        try Data(contentsOf: fixtures.appending(path: "provider-specs").appending(path: "github-check-runs.json"))
    }

    static func argoServerResubmitSpec() throws -> Data {
        try Data(contentsOf: fixtures.appending(path: "provider-specs").appending(path: "argo-server-resubmit.json"))
    }

    static func argoServerListSpec() throws -> Data {
        try Data(contentsOf: fixtures.appending(path: "provider-specs").appending(path: "argo-server-list-and-userinfo.json"))
    }

    static func githubWebhookSpec() throws -> Data {
        try Data(contentsOf: fixtures.appending(path: "provider-specs").appending(path: "github-webhook-check-run.json"))
    }

    /// The `statussync` binary built next to the test bundle (the test target depends on it).
    static var binary: URL {
        if let override = ProcessInfo.processInfo.environment["STATUSSYNC_BINARY"] { return URL(fileURLWithPath: override) }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appending(path: "statussync")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return exe.deletingLastPathComponent().appending(path: "statussync")
    }
}

/// A fresh directory under /tmp, removed when the test ends.
final class TempDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appending(path: "statussync-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appending(path: name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Waits until `condition` holds, polling; fails the wait (returns false) after `timeout`.
func eventually(timeout: Duration = .seconds(30), every: Duration = .milliseconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: every)
    }
    return try await condition()
}

extension Duration {
    /// A rate-limit wait computed from a reset time (Unix seconds): it ends at the reset, within
    /// the second the header keeps and the time the answer took to arrive, however slow.
    func waitsUntil(_ reset: Int) -> Bool {
        let left = Double(reset) - Date().timeIntervalSince1970
        let seconds = Double(components.seconds) + Double(components.attoseconds) / 1e18
        return seconds >= left - 1.5 && seconds <= left + 1.5
    }
}
