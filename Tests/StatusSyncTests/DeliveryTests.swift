import Foundation
import Logging
import ServiceLifecycle
import Testing
@testable import StatusSyncCore
@testable import StatusSyncDelivery
@testable import StatusSyncProviders
@testable import StatusSyncStore

@Suite("Delivery loop (CONTRACT §3.3–§3.7)")
struct DeliveryTests {
    static func settings(maxAttempts: Int = 20, maxAge: ConfigDuration = .seconds(3600)) -> DeliverySettings {
        var s = DeliverySettings()
        s.maxAttempts = maxAttempts
        s.maxAge = maxAge
        s.backoffBase = ConfigDuration(milliseconds: 20)
        s.backoffCap = ConfigDuration(milliseconds: 100)
        s.timeout = .seconds(5)
        return s
    }

    /// Runs a delivery loop over `store` against `fake` while `body` runs, then stops it gracefully.
    static func withDelivery(_ store: SQLiteStore, _ fake: FakeGitHub, settings: DeliverySettings = settings(), idlePoll: Duration = .seconds(60),
                             pacing: Pacing? = nil, _ body: (DeliveryService) async throws -> Void) async throws {
        let http = ProviderHTTPClient(timeout: settings.timeout.duration)
        let provider = GitHubProvider(name: "github", baseURL: fake.baseURL, token: fake.token, pacing: pacing, http: http)
        var logger = Logger(label: "delivery-test")
        logger.logLevel = .critical
        let service = DeliveryService(store: store, providers: [provider], settings: settings, shutdownGrace: .seconds(5), logger: logger, idlePoll: idlePoll)
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body(service)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await http.shutdown()
    }

    static func status(_ store: SQLiteStore, _ id: Int64?) async throws -> DeliveryStatus? {
        guard let id else { return nil }
        return try await store.detail(id: id)?.update.delivery.status
    }

    @Test("A new update is handed to the loop at once (no poll interval) and delivered")
    func promptDelivery() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            try await Self.withDelivery(store, fake, idlePoll: .seconds(600)) { delivery in
                try await Task.sleep(for: .milliseconds(100))
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                delivery.wake()
                #expect(try await eventually(timeout: .seconds(5)) { try await Self.status(store, r.updateID) == .delivered })
                #expect(fake.statuses.map(\.state) == ["success"])
                let detail = try await store.detail(id: r.updateID!)
                #expect(detail?.attempts.map(\.errorClass) == ["ok"])
                #expect(detail?.attempts.first?.httpStatus == 201)
                #expect(detail?.update.delivery.deliveredAt != nil)
            }
        }
    }

    @Test("Transient failures retry with backoff; every attempt is recorded")
    func transientRetry() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.enqueue(.serverError(502), .serverError(503))
            try await Self.withDelivery(store, fake) { delivery in
                let r = try await store.accept(CallFactory.call(CallFactory.status("Failed")))
                delivery.wake()
                #expect(try await eventually { try await Self.status(store, r.updateID) == .delivered })
                let detail = try #require(try await store.detail(id: r.updateID!))
                #expect(detail.attempts.map(\.httpStatus) == [502, 503, 201])
                #expect(detail.attempts.map(\.errorClass) == ["transient", "transient", "ok"])
                #expect(detail.update.delivery.attempts == 3)
                #expect(fake.statuses.count == 1)
            }
        }
    }

    @Test("Permanent failures become failed at once with the provider's message")
    func permanentFailure() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.setKnownSHAs([])
            try await Self.withDelivery(store, fake) { delivery in
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                delivery.wake()
                #expect(try await eventually { try await Self.status(store, r.updateID) == .failed })
                let detail = try #require(try await store.detail(id: r.updateID!))
                #expect(detail.update.delivery.lastError?.contains("No commit found for SHA") == true)
                #expect(detail.attempts.count == 1)
                try await Task.sleep(for: .milliseconds(300))
                #expect(fake.requests.count == 1, "never retried")
            }
        }
    }

    @Test("After maxAttempts transient failures the update is dead")
    func deadAfterMaxAttempts() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.setDefault(.serverError(500))
            try await Self.withDelivery(store, fake, settings: Self.settings(maxAttempts: 3)) { delivery in
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                delivery.wake()
                #expect(try await eventually { try await Self.status(store, r.updateID) == .dead })
                let detail = try #require(try await store.detail(id: r.updateID!))
                #expect(detail.attempts.count == 3)
                #expect(detail.update.delivery.lastError?.contains("gave up after 3 attempts") == true)
            }
        }
    }

    @Test("429 with Retry-After: no call reaches the provider before the wait is over, and the wait is not an attempt")
    func rateLimitWait() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.enqueue(.error(429, headers: [("Retry-After", "2")], body: "{\"message\":\"too many\"}"))
            try await Self.withDelivery(store, fake, settings: Self.settings(maxAttempts: 1)) { delivery in
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                delivery.wake()
                #expect(try await eventually { fake.requests.count >= 1 })
                // Another context of the same provider is paused too.
                let other = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "other")))
                delivery.wake()
                #expect(try await eventually(timeout: .seconds(8)) { try await Self.status(store, r.updateID) == .delivered })
                #expect(try await eventually { try await Self.status(store, other.updateID) == .delivered })
                let requests = fake.requests
                let gap = requests[1].at - requests[0].at
                #expect(gap >= .milliseconds(1950), "second call came \(gap) after the 429")
                #expect(requests.count == 3)
                let detail = try #require(try await store.detail(id: r.updateID!))
                #expect(detail.attempts.map(\.errorClass) == ["rate-limited", "ok"])
                #expect(detail.update.delivery.attempts == 1, "the rate-limited call does not use up maxAttempts (1)")
            }
        }
    }

    @Test("One call in flight per context; the provider ends with the newest state; superseded ones are never sent")
    func orderAndSupersede() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.setDefault(.slow(.milliseconds(300)))
            try await Self.withDelivery(store, fake) { delivery in
                let first = try await store.accept(CallFactory.call(CallFactory.status("Pending", description: "step 0")))
                delivery.wake()
                #expect(try await eventually { fake.requests.count == 1 })
                var last: AcceptResult? = nil
                for i in 1...5 {
                    last = try await store.accept(CallFactory.call(CallFactory.status("Running", description: "step \(i)")))
                    delivery.wake()
                }
                let lastID = try #require(last?.updateID)
                #expect(try await eventually { try await Self.status(store, lastID) == .delivered })
                #expect(fake.statuses.map(\.description) == ["step 0", "step 5"])
                #expect(fake.maxInFlightPerSubject == 1)
                #expect(try await Self.status(store, first.updateID) == .delivered)
                let superseded = try await store.history({ var f = HistoryFilter(); f.delivery = .superseded; return f }())
                #expect(superseded.count == 4)
            }
        }
    }

    @Test("pr: the head is resolved once per workflow and pinned, even when the PR moves")
    func prPinned() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let first = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        try await FakeGitHub.run { fake in
            fake.setPull("my-org/app", 7, head: first)
            try await Self.withDelivery(store, fake) { delivery in
                let a = try await store.accept(CallFactory.call(["repo": "my-org/app", "pr": "7", "state": "Running"]))
                delivery.wake()
                #expect(try await eventually { try await Self.status(store, a.updateID) == .delivered })
                fake.setPull("my-org/app", 7, head: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
                let b = try await store.accept(CallFactory.call(["repo": "my-org/app", "pr": "7", "state": "Succeeded"]))
                delivery.wake()
                #expect(try await eventually { try await Self.status(store, b.updateID) == .delivered })
                #expect(fake.statuses.map(\.sha) == [first, first])
                #expect(fake.requests.filter { $0.method == "GET" }.count == 1)
                let missing = try await store.accept(CallFactory.call(["repo": "my-org/app", "pr": "404", "state": "Running"], workflow: WorkflowRef(namespace: "ci", name: "x", uid: "uid-x")))
                delivery.wake()
                #expect(try await eventually { try await Self.status(store, missing.updateID) == .failed })
                #expect(try await store.detail(id: missing.updateID!)?.update.delivery.lastError?.contains("pull request #404 not found") == true)
            }
        }
    }

    @Test("Backoff: full jitter within the exponential ceiling, capped")
    func backoff() {
        let b = Backoff(base: .seconds(2), cap: .seconds(600))
        #expect(b.ceiling(afterAttempt: 1) == .seconds(2))
        #expect(b.ceiling(afterAttempt: 2) == .seconds(4))
        #expect(b.ceiling(afterAttempt: 5) == .seconds(32))
        #expect(b.ceiling(afterAttempt: 20) == .seconds(600))
        #expect(b.delay(afterAttempt: 3, random: 0) == .zero)
        #expect(b.delay(afterAttempt: 3, random: 0.5) == .seconds(4))
        #expect(b.delay(afterAttempt: 3, random: 1) == .seconds(8))
    }
}
