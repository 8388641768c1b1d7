import Foundation
import GRDB
import InMemoryLogging
import Logging
import ServiceLifecycle
import Testing
@testable import StatusSyncCore
@testable import StatusSyncDelivery
@testable import StatusSyncProviders
@testable import StatusSyncStore

/// docs/design.md#no-stranded-work: an outcome the database cannot take now is recorded once it
/// can, with no restart, and nothing waits behind an update left `delivering`.
@Suite("No stranded deliveries")
struct StrandedDeliveryTests {
    @Test("An outcome that cannot be recorded (lock held past busyTimeout) is recorded once the lock goes; the newer update behind it follows")
    func lockedOutcome() async throws {
        let dir = try TempDirectory()
        let path = dir.path("statussync.sqlite")
        let store = SQLiteStore(database: try AppDatabase.openForWriting(path: path, busyTimeout: 0.1))
        let logs = InMemoryLogHandler()
        let logger = { var l = Logger(label: "stranded-test", factory: { _ in logs }); l.logLevel = .info; return l }()
        try await FakeGitHub.run { fake in
            // The provider answers the first status slowly, so the lock can be taken while it is in flight.
            fake.enqueue(.slow(.milliseconds(300)))
            let http = ProviderHTTPClient(timeout: .seconds(20))
            let provider = GitHubProvider(name: "github", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            let service = DeliveryService(store: store, providers: [provider], settings: DeliveryTests.settings(), shutdownGrace: .seconds(5),
                                          logger: logger, idlePoll: .seconds(60))
            try await ServiceGroup.running([service], logger: logger) {
                let first = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                service.wake()
                #expect(try await eventually { fake.requests.count == 1 })
                let second = try await store.accept(CallFactory.call(CallFactory.status("Failed")))
                let lock = try WriteLock(path: path)
                #expect(try await eventually { logs.entries.contains { "\($0.message)".contains("cannot record the delivery outcome") } },
                        "the first outcome's write failed while the lock was held")
                #expect(try await DeliveryTests.status(store, first.updateID) == .delivering)
                lock.release()
                // No restart: the kept outcome is written, then the newer update is claimed and sent.
                #expect(try await eventually { try await DeliveryTests.status(store, first.updateID) == .delivered })
                #expect(try await eventually { try await DeliveryTests.status(store, second.updateID) == .delivered })
                #expect(fake.statuses.map(\.state) == ["success", "failure"])
            }
            try await http.shutdown()
        }
    }
}
