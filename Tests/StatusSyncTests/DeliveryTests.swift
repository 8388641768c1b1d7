import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycle
import Testing
@testable import StatusSyncCore
@testable import StatusSyncDelivery
@testable import StatusSyncProviders
@testable import StatusSyncStore

@Suite("Delivery loop (docs/design.md#order, #retries, #crash-recovery, #prompt-delivery)")
struct DeliveryTests {
    static func settings(maxAttempts: Int = 20, maxAge: ConfigDuration = .seconds(3600)) -> DeliverySettings {
        var s = DeliverySettings()
        s.maxAttempts = maxAttempts
        s.maxAge = maxAge
        s.backoffBase = ConfigDuration(milliseconds: 20)
        s.backoffCap = ConfigDuration(milliseconds: 100)
        // Far above a local fake's answer even on a loaded machine: a timeout here is a test
        // artefact, not the behaviour under test (tests of timeouts set their own).
        s.timeout = .seconds(20)
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
        try await ServiceGroup.running([service], logger: logger) { try await body(service) }
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
                // The loop has looked at the empty queue and parked for its 600 s idle poll.
                #expect(try await eventually { delivery.signal.hasWaiter })
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                delivery.wake()
                #expect(try await eventually(timeout: .seconds(30)) { try await Self.status(store, r.updateID) == .delivered })
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
                #expect(detail.update.delivery.nextAttemptAt == nil, "never retried: no next attempt scheduled")
                #expect(try await store.backlog().isEmpty)
                #expect(fake.requests.count == 1)
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
                #expect(detail.attempts.count == 3, "\(detail.attempts)")
                #expect(detail.update.delivery.lastError?.contains("gave up after 3 attempts") == true, "\(detail.update.delivery)")
            }
        }
    }

    @Test("429 with Retry-After: 3: no call reaches the provider before the wait is over, and the wait is not an attempt")
    func rateLimitWait() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.enqueue(.error(429, headers: [("Retry-After", "3")], body: "{\"message\":\"too many\"}"))
            try await Self.withDelivery(store, fake, settings: Self.settings(maxAttempts: 1)) { delivery in
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                delivery.wake()
                #expect(try await eventually { try await store.detail(id: r.updateID!)?.attempts.count == 1 })
                // Another context of the same provider, accepted after the 429 was seen, is paused too.
                let other = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "other")))
                delivery.wake()
                #expect(try await eventually(timeout: .seconds(30)) { try await Self.status(store, r.updateID) == .delivered })
                #expect(try await eventually { try await Self.status(store, other.updateID) == .delivered })
                let requests = fake.requests
                #expect(requests.count == 3)
                for later in requests.dropFirst() {
                    #expect(later.at - requests[0].at >= .milliseconds(2950), "a call came \(later.at - requests[0].at) after the 429")
                }
                let detail = try #require(try await store.detail(id: r.updateID!))
                #expect(detail.attempts.map(\.errorClass) == ["rate-limited", "ok"])
                #expect(detail.update.delivery.attempts == 1, "the rate-limited call does not use up maxAttempts (1)")
            }
        }
    }

    @Test("GitHub 403 with x-ratelimit-remaining 0: the provider waits until the reset time")
    func primaryLimitReset() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            let reset = Int(Date().timeIntervalSince1970) + 2
            fake.enqueue(.error(403, headers: [("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "\(reset)")],
                                body: "{\"message\":\"API rate limit exceeded for user ID 1.\"}"))
            try await Self.withDelivery(store, fake) { delivery in
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                delivery.wake()
                #expect(try await eventually(timeout: .seconds(30)) { try await Self.status(store, r.updateID) == .delivered })
                let second = try #require(fake.requests.last)
                let resetInstant = Date(timeIntervalSince1970: Double(reset))
                #expect(Date().timeIntervalSince(resetInstant) >= 0, "delivered only after the reset time")
                #expect(fake.requests.count == 2)
                _ = second
                #expect(try await store.detail(id: r.updateID!)?.attempts.map(\.errorClass) == ["rate-limited", "ok"])
            }
        }
    }

    @Test("Pacing: a burst beyond the bucket waits for refills")
    func pacing() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            try await Self.withDelivery(store, fake, pacing: Pacing(burst: 2, perMinute: 120)) { delivery in
                let start = ContinuousClock.now
                for i in 0..<4 {
                    _ = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "ctx-\(i)")))
                }
                delivery.wake()
                #expect(try await eventually(timeout: .seconds(30)) { fake.statuses.count == 4 })
                let times = fake.requests.map(\.at).sorted()
                // The bucket holds at most 2 tokens and refills 1 per 500 ms, so from any moment on,
                // the third call can start 0.5 s later at the earliest and the fourth 1 s later.
                #expect(times[2] - start >= .milliseconds(490), "third call after \(times[2] - start)")
                #expect(times[3] - start >= .milliseconds(990), "fourth call after \(times[3] - start)")
            }
        }
    }

    @Test("maxAge: a transient failure past the age limit makes the update dead")
    func deadAfterMaxAge() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.setDefault(.serverError(503))
            try await Self.withDelivery(store, fake, settings: Self.settings(maxAttempts: 1000, maxAge: ConfigDuration(milliseconds: 400))) { delivery in
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                delivery.wake()
                #expect(try await eventually { try await Self.status(store, r.updateID) == .dead })
                let detail = try #require(try await store.detail(id: r.updateID!))
                #expect(detail.update.delivery.lastError?.contains("maxAge 400ms") == true)
                #expect(detail.attempts.count >= 1 && detail.attempts.count < 1000, "dead by age, not by attempts")
            }
        }
    }

    @Test("A provider message that echoes the token is redacted in the store and the logs")
    func tokenNeverStoredOrLogged() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.enqueue(.error(422, body: "{\"message\":\"bad token \(fake.token) for this repo\"}"))
            let logs = InMemoryLogHandler()
            let http = ProviderHTTPClient(timeout: .seconds(20))
            let provider = GitHubProvider(name: "github", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            var logger = Logger(label: "capture", factory: { _ in logs })
            logger.logLevel = .trace
            let service = DeliveryService(store: store, providers: [provider], settings: Self.settings(), logger: logger, idlePoll: .milliseconds(50))
            try await ServiceGroup.running([service], logger: logger) {
                let r = try await store.accept(CallFactory.call(CallFactory.status("Succeeded")))
                #expect(try await eventually { try await Self.status(store, r.updateID) == .failed })
                let detail = try #require(try await store.detail(id: r.updateID!))
                #expect(detail.update.delivery.lastError == "bad token [redacted] for this repo")
                #expect(detail.attempts.allSatisfy { $0.error?.contains(fake.token) != true })
            }
            try await http.shutdown()
            let text = logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
            #expect(!text.isEmpty)
            #expect(!text.contains(fake.token))
            #expect(text.contains("update finished without delivery"))
        }
    }

    @Test("One call in flight per context; the provider ends with the newest state; superseded ones are never sent")
    func orderAndSupersede() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            // The first call stays in flight long enough for the five newer updates to arrive.
            fake.enqueue(.slow(.milliseconds(1500)))
            fake.setDefault(.slow(.milliseconds(50)))
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

    @Test("A comment is upserted with its status; concurrent updates on one PR and context leave exactly one comment")
    func stickyComments() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.setDefault(.slow(.milliseconds(50)))
            try await Self.withDelivery(store, fake) { delivery in
                var ids: [Int64] = []
                for i in 0..<6 {
                    // Different workflows and commits, one PR, one context: six subjects delivered in parallel.
                    let sha = String(repeating: "\(i + 1)", count: 40)
                    let r = try await store.accept(CallFactory.call(["repo": "my-org/app", "sha": sha, "pr": "7", "state": "Succeeded", "context": "ci/argo",
                                                                     "comment": "run \(i) passed"],
                                                                    workflow: WorkflowRef(namespace: "ci", name: "w\(i)", uid: "uid-\(i)")))
                    ids.append(try #require(r.updateID))
                }
                delivery.wake()
                #expect(try await eventually { try await ids.asyncAllSatisfy { try await Self.status(store, $0) == .delivered } })
                let mine = fake.comments.all("my-org/app#7").filter { $0.body.contains("<!-- statussync:comment ci/argo -->") }
                #expect(mine.count == 1, "exactly one comment for the PR and context")
                let detail = try #require(try await store.detail(id: ids[0]))
                #expect(detail.attempts.map(\.operation) == ["status", "comment"])
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

extension Sequence {
    func asyncAllSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await !predicate(element) { return false }
        return true
    }
}
