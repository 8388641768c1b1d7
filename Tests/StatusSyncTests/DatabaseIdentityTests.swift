import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import StatusSyncCore
@testable import StatusSyncServer
@testable import StatusSyncStore

/// docs/design.md#database-identity: nothing is acknowledged into a database file that the next
/// start would not open, and `/readyz` fails while writes cannot commit.
@Suite("The database is the one serve opened")
struct DatabaseIdentityTests {
    static let path = PluginEndpointTests.path
    static let headers = PluginEndpointTests.agentHeaders

    func post(_ client: some TestClientProtocol, _ fields: [String: String]) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: Self.path, method: .post, headers: Self.headers, body: ByteBuffer(bytes: CallFactory.argsJSON(fields))) {
            ($0.status, String(buffer: $0.body))
        }
    }

    func readyz(_ client: some TestClientProtocol) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: "/readyz", method: .get) { ($0.status, String(buffer: $0.body)) }
    }

    @Test("A deleted database: every later call gets 503 naming the file, and /readyz fails")
    func deleted() async throws {
        let h = try PluginEndpointTests.harness()
        let file = h.dir.path("s.sqlite")
        try await h.app.test(.router) { client in
            #expect(try await post(client, CallFactory.status("Running")).0 == .ok)
            try FileManager.default.removeItem(atPath: file)
            let (status, text) = try await post(client, CallFactory.status("Succeeded"))
            #expect(status == .serviceUnavailable)
            #expect(text.contains(file) && text.contains("deleted"), "\(text)")
            let (ready, reason) = try await readyz(client)
            #expect(ready == .serviceUnavailable)
            #expect(reason.contains("deleted"), "\(reason)")
            // Nothing at the path any more: every later call is refused too, none acknowledged.
            #expect(try await post(client, CallFactory.status("Failed")).0 == .serviceUnavailable)
        }
    }

    @Test("A replaced database (another file renamed onto its path): 503 and /readyz fails; the original back: accepted again")
    func replaced() async throws {
        let h = try PluginEndpointTests.harness()
        let file = h.dir.path("s.sqlite")
        let aside = h.dir.path("aside.sqlite")
        try await h.app.test(.router) { client in
            #expect(try await post(client, CallFactory.status("Running")).0 == .ok)
            try FileManager.default.moveItem(atPath: file, toPath: aside)
            try Data("not the database".utf8).write(to: URL(fileURLWithPath: file))
            let (status, text) = try await post(client, CallFactory.status("Succeeded"))
            #expect(status == .serviceUnavailable)
            #expect(text.contains("replaced"), "\(text)")
            #expect(try await readyz(client).0 == .serviceUnavailable)

            try FileManager.default.removeItem(atPath: file)
            try FileManager.default.moveItem(atPath: aside, toPath: file)
            #expect(try await post(client, CallFactory.status("Succeeded")).0 == .ok)
            #expect(try await readyz(client).0 == .ok)
        }
        #expect(try await h.store.history(HistoryFilter()).map(\.state) == [.success, .running])
    }

    @Test("A full disk: the call gets 503, /readyz fails until a write commits again")
    func diskFull() async throws {
        let h = try PluginEndpointTests.harness()
        let writer = h.store.database.writer
        // SQLite's page limit stands in for a full disk: the same SQLITE_FULL on the next page.
        try await writer.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        let big = CallFactory.status("Running", extra: ["padding": String(repeating: "x", count: 64 * 1024)])
        try await h.app.test(.router) { client in
            let (status, text) = try await post(client, big)
            #expect(status == .serviceUnavailable, "\(text)")
            let (ready, reason) = try await readyz(client)
            #expect(ready == .serviceUnavailable)
            #expect(reason.contains("could not commit"), "\(reason)")

            try await writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
            #expect(try await post(client, big).0 == .ok)
            #expect(try await readyz(client).0 == .ok)
        }
    }
}
