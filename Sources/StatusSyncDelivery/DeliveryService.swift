import Foundation
import Logging
import Metrics
import ServiceLifecycle
import StatusSyncCore
import StatusSyncProviders
import StatusSyncStore
import Synchronization

/// Something the HTTP layer can poke when it has queued new work (no poll interval).
public protocol DeliveryTrigger: Sendable {
    func wake()
}

/// The delivery loop: claims due updates from the store, at most one call in flight per subject,
/// sends them to their provider, and records every attempt and its outcome (docs/design.md#order, #retries, #crash-recovery, #prompt-delivery).
public final class DeliveryService: Service, DeliveryTrigger {
    let store: any DeliveryStore
    let providers: [String: any StatusProvider]
    /// Provider names in config order: the order a claim serves them in.
    public let providerNames: [String]
    let settings: DeliverySettings
    let shutdownGrace: Duration
    let logger: Logger
    let now: @Sendable () -> Date
    let random: @Sendable () -> Double
    let backoff: Backoff

    let signal = WakeSignal()
    private let inFlight = Mutex(0)
    private let stopping = Atomic<Bool>(false)
    let buckets: [String: TokenBucket]
    private let pausedUntil = Mutex<[String: Date]>([:])
    private let commentLocks = KeyedLock()
    /// Resubmits workflows whose check run's Re-run was pressed; nil without `argoServer`.
    let resubmitter: ArgoServerClient?
    /// Where re-run requests wait; nil when this loop does not resubmit.
    let reruns: (any RerunStore)?
    /// When the loop next looks for due re-runs (nil: none waiting). They are rare, so the loop
    /// keeps their schedule in memory instead of asking the store every round.
    let rerunDueAt = Mutex<Date?>(nil)

    /// How often the loop looks at the queue when nothing wakes it (also catches requeues made
    /// by another process, such as `statussync retry`).
    let idlePoll: Duration
    /// The first and the longest wait between tries of a store write that failed.
    let storeRetryBase: Duration = .milliseconds(100)
    let storeRetryCap: Duration = .seconds(2)

    public init(store: any DeliveryStore, providers: [any StatusProvider], settings: DeliverySettings,
                shutdownGrace: ConfigDuration = .seconds(10), logger: Logger, idlePoll: Duration = .milliseconds(500),
                resubmitter: ArgoServerClient? = nil, reruns: (any RerunStore)? = nil,
                now: @escaping @Sendable () -> Date = { Date() },
                random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }) {
        self.store = store
        self.providers = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        self.providerNames = providers.map(\.name).filter { seen.insert($0).inserted }
        self.settings = settings
        self.shutdownGrace = shutdownGrace.duration
        self.idlePoll = idlePoll
        self.logger = logger
        self.now = now
        self.random = random
        self.backoff = Backoff(base: settings.backoffBase.duration, cap: settings.backoffCap.duration)
        self.resubmitter = resubmitter
        self.reruns = resubmitter == nil ? nil : reruns
        var buckets: [String: TokenBucket] = [:]
        for p in providers {
            if let pacing = p.pacing { buckets[p.name] = TokenBucket(burst: pacing.burst, perMinute: pacing.perMinute) }
        }
        self.buckets = buckets
    }

    /// New work was queued. The loop is woken only if it could claim it now: with too few free
    /// slots it waits for a delivery to finish (which wakes it), so a busy loop is not woken for
    /// every accepted call.
    public func wake() {
        if canClaim(busy: inFlight.withLock { $0 }) { signal.signal() }
    }

    /// Whether the loop claims with `busy` deliveries in flight: when idle, or once a quarter of
    /// the slots are free (claims are write transactions, so under load they take several jobs
    /// at a time).
    private func canClaim(busy: Int) -> Bool {
        let free = settings.concurrency - busy
        return free > 0 && (busy == 0 || free >= max(1, settings.concurrency / 4))
    }

    public func run() async throws {
        let recovered = try await store.recoverInterrupted()
        if recovered > 0 {
            logger.notice("requeued updates interrupted by the last stop", metadata: ["count": "\(recovered)"])
        }
        let orphaned = try await store.failUnconfigured(providers: providerNames)
        if orphaned > 0 {
            logger.warning("queued updates of providers no longer configured are failed; add the provider back and run statussync retry", metadata: ["count": "\(orphaned)"])
        }
        try await recoverReruns()
        try await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .sequentiallyConsistent)
            self.signal.signal()
        }
    }

    private var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    private func loop() async {
        await withDiscardingTaskGroup { group in
            while !isStopping && !Task.isCancelled {
                let busy = inFlight.withLock { $0 }
                let free = settings.concurrency - busy
                var nextWake = idlePoll
                do {
                    if free > 0, let due = try await claimReruns(limit: min(free, 4)) {
                        for job in due {
                            inFlight.withLock { $0 += 1 }
                            group.addTask {
                                await self.resubmit(job)
                                self.inFlight.withLock { $0 -= 1 }
                                self.signal.signal()
                            }
                        }
                    }
                    if let due = rerunDueAt.withLock({ $0 }) {
                        let ms = Int64(due.timeIntervalSince(now()) * 1000) + 1
                        nextWake = .milliseconds(max(1, min(ms, idlePoll.milliseconds)))
                    }
                    if canClaim(busy: inFlight.withLock { $0 }) {
                        let batch = try await store.claimDue(limit: settings.concurrency - inFlight.withLock { $0 }, budgets: claimBudgets(), maxDeferral: settings.maxDeferral)
                        takeTokens(for: batch.jobs)
                        for job in batch.jobs {
                            inFlight.withLock { $0 += 1 }
                            group.addTask {
                                await self.deliver(job)
                                self.inFlight.withLock { $0 -= 1 }
                                self.signal.signal()
                            }
                        }
                        if !batch.jobs.isEmpty { continue }
                        if let due = batch.nextDueAt {
                            let ms = Int64(due.timeIntervalSince(now()) * 1000) + 1
                            nextWake = min(nextWake, .milliseconds(max(1, min(ms, idlePoll.milliseconds))))
                        }
                        for provider in batch.waitingForBudget {
                            nextWake = min(nextWake, budgetRefill(provider))
                        }
                    }
                } catch {
                    logger.error("delivery loop cannot read the store; retrying in 1s", metadata: ["error": "\(error)"])
                }
                await signal.wait(timeout: nextWake)
            }
            // Graceful stop: no new claims; in-flight calls get shutdownGrace to finish.
            let deadline = ContinuousClock.now + shutdownGrace
            while inFlight.withLock({ $0 }) > 0 && ContinuousClock.now < deadline && !Task.isCancelled {
                await signal.wait(timeout: .milliseconds(50))
            }
            let left = inFlight.withLock { $0 }
            if left > 0 {
                logger.warning("shutdown grace over; abandoning in-flight provider calls (they are retried at next start)", metadata: ["count": "\(left)"])
                group.cancelAll()
            }
        }
    }

    /// What each provider's budget allows now: nothing while it is paused by a rate limit, its
    /// bucket's whole tokens when it is paced, no limit otherwise (docs/design.md#delivery-order).
    func claimBudgets() -> [ClaimBudget] {
        let current = now()
        let paused = pausedUntil.withLock { $0 }
        return providerNames.map { name in
            if let until = paused[name], until > current { return ClaimBudget(provider: name, calls: 0) }
            return ClaimBudget(provider: name, calls: buckets[name]?.available)
        }
    }

    /// A provider's pacing now: whole calls its bucket allows and its rate (nil when unpaced), and
    /// the seconds left of a rate-limit pause.
    public func pacing(of provider: String) -> ProviderPacing {
        let bucket = buckets[provider]
        let paused = pausedUntil.withLock { $0[provider] }.map { $0.timeIntervalSince(now()) } ?? 0
        return ProviderPacing(available: bucket?.available, perSecond: bucket?.perSecond, pausedFor: max(0, paused))
    }

    /// Claimed jobs hold their provider's tokens from the claim on, so the next claim sees what is left.
    private func takeTokens(for jobs: [DeliveryJob]) {
        guard !buckets.isEmpty, !jobs.isEmpty else { return }
        var counts: [String: Int] = [:]
        for job in jobs { counts[job.provider, default: 0] += 1 }
        for (provider, count) in counts { buckets[provider]?.take(count) }
    }

    /// How long until `provider` may be sent to again: its rate-limit pause, or its next token.
    private func budgetRefill(_ provider: String) -> Duration {
        if let until = pausedUntil.withLock({ $0[provider] }), until > now() {
            return .milliseconds(Int64(until.timeIntervalSince(now()) * 1000) + 1)
        }
        return max(.milliseconds(1), buckets[provider]?.untilNextToken ?? idlePoll)
    }

    /// One claimed update: resolve its PR head if needed, send it, record the outcome. Every path
    /// ends with the update moved on from `delivering` (docs/design.md#no-stranded-work).
    func deliver(_ claimed: DeliveryJob) async {
        let log = JobLogger(logger: logger, job: claimed)
        do {
            try await send(claimed, log: log)
        } catch {
            // Only cancellation gets here (store writes are retried until they commit): the
            // shutdown grace is over, and crash recovery requeues the update at the next start.
            log.info("delivery abandoned at shutdown; retried at next start")
        }
    }

    private func send(_ claimed: DeliveryJob, log: JobLogger) async throws {
        var job = claimed
        guard let provider = providers[job.provider] else {
            try await finish(job, attempt: nil, decision: .giveUp(.failed, error: "provider \(job.provider) is no longer configured on this server; add it back to providers: and run statussync retry \(job.id)"), log: log)
            return
        }
        if let until = pausedUntil.withLock({ $0[provider.name] }), until > now() {
            try await finish(job, attempt: nil, decision: .retry(at: until, countsAttempt: false, error: "provider \(provider.name) is rate-limited until \(Timestamp.rfc3339(Timestamp.ms(until)))"), log: log)
            return
        }

        if job.sha == nil, let pr = job.pr {
            var lookup: AttemptRecord? = nil
            var pinned = try await persisting("read the pinned pull request head", log: log) {
                try await self.store.pinnedHead(provider: job.provider, repo: job.repo, pr: pr, workflowUID: job.workflow.uid)
            }
            if pinned == nil {
                let (outcome, head) = await provider.resolvePullRequestHead(repo: job.repo, pr: pr)
                count(provider, outcome)
                lookup = attempt(outcome, .resolvePR)
                guard let head, outcome.errorClass == .ok else {
                    try await finish(job, attempt: lookup, decision: decision(for: outcome, job: job, provider: provider.name), log: log)
                    return
                }
                log.info("pinned pull request head", metadata: ["pr": "\(pr)", "sha": "\(head.sha)", "branch": "\(head.sourceBranch ?? "-")"])
                pinned = head
            }
            let head = pinned!
            let unpinned = job
            switch try await persisting("pin the pull request head", log: log, { try await self.store.pin(unpinned, head: head, attempt: lookup) }) {
            case .send(let pinned):
                job = pinned
            case .notSent(let status):
                updateCounter(status)
                log.info("not sent after pinning the pull request head", metadata: ["delivery": "\(status.rawValue)"])
                return
            case .busy:
                return
            }
        }
        guard let sha = job.sha else {
            try await finish(job, attempt: nil, decision: .giveUp(.failed, error: "the update has neither a sha nor a pull request to resolve one from"), log: log)
            return
        }
        if job.report == .check {
            try await sendCheckRun(job, sha: sha, provider: provider, log: log)
            return
        }
        let outcome = await provider.postStatus(StatusDelivery(
            repo: job.repo, sha: sha, ref: job.ref, context: job.context, state: job.state,
            description: job.description, targetURL: job.targetURL, pr: job.pr))
        count(provider, outcome)
        var attempts = [attempt(outcome, .status)]
        var last = outcome
        if outcome.errorClass == .ok, let text = job.comment, let pr = job.pr {
            // The sticky comment follows the status; one upsert at a time per PR and context.
            let sticky = StickyComment(pr: pr, context: job.context, body: text)
            let repo = job.repo
            last = await commentLocks.withLock("\(provider.name)\u{1F}\(repo)\u{1F}\(pr)\u{1F}\(job.context)") {
                await provider.upsertComment(repo: repo, comment: sticky)
            }
            count(provider, last)
            attempts.append(attempt(last, .comment))
        }
        if last.errorClass == .ok {
            try await finish(job, attempts: attempts, decision: .delivered, log: log)
            StatusMetrics.delivered(after: Int64(now().timeIntervalSince(job.createdAt) * 1e9))
        } else {
            try await finish(job, attempts: attempts, decision: decision(for: last, job: job, provider: provider.name), log: log)
        }
    }

    /// Runs a store operation until it succeeds. A provider call that was made must be recorded,
    /// and an update must not stay `delivering` with nothing in flight: when the database cannot
    /// take the write (locked past busyTimeout, disk full), the outcome is kept here and written
    /// as soon as it can be, without a restart (docs/design.md#no-stranded-work). Throws only
    /// `CancellationError`, once the shutdown grace is over.
    func persisting<T: Sendable>(_ what: String, log: JobLogger, _ operation: () async throws -> T) async throws -> T {
        var delay = storeRetryBase
        var failures = 0
        while true {
            do {
                let result = try await operation()
                if failures > 0 { log.notice("the database accepts writes again; recorded", metadata: ["operation": "\(what)", "failures": "\(failures)"]) }
                return result
            } catch {
                try Task.checkCancellation()
                failures += 1
                // Once at the first failure, then about once a minute while it lasts.
                if failures == 1 || failures % 30 == 0 {
                    log.error("cannot \(what); keeping the outcome and trying again until the database accepts writes", metadata: [
                        "error": "\(error)", "failures": "\(failures)",
                    ])
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, storeRetryCap)
            }
        }
    }

    /// Transient → retry with backoff until maxAttempts/maxAge (then dead); rate-limited → wait
    /// (not counted, pauses the provider); permanent → failed with the provider's message.
    func decision(for outcome: CallOutcome, job: DeliveryJob, provider: String) -> FinishDecision {
        decision(for: outcome, attempts: job.attempts, ageFrom: job.ageFrom, pausing: provider)
    }

    /// The same rules for any retried call: `attempts` made so far, the maxAge clock started at
    /// `ageFrom`; a rate limit pauses the deliveries of `pausing` (a provider's name) when given.
    func decision(for outcome: CallOutcome, attempts: Int, ageFrom: Date, pausing provider: String?) -> FinishDecision {
        let message = outcome.message ?? "HTTP \(outcome.httpStatus.map(String.init) ?? "error")"
        let current = now()
        let age = current.timeIntervalSince(ageFrom)
        switch outcome.errorClass {
        case .ok:
            return .delivered
        case .permanent:
            return .giveUp(.failed, error: message)
        case .rateLimited(let wait):
            let until = current.addingTimeInterval(Double(wait.milliseconds) / 1000)
            if let provider {
                pausedUntil.withLock { paused in
                    if (paused[provider] ?? .distantPast) < until { paused[provider] = until }
                }
                logger.warning("provider rate-limited; pausing its deliveries", metadata: ["provider": "\(provider)", "seconds": "\(wait.milliseconds / 1000)"])
            }
            if until.timeIntervalSince(ageFrom) > settings.maxAge.seconds {
                return .giveUp(.dead, error: "gave up: rate-limited past maxAge (\(settings.maxAge)): \(message)")
            }
            return .retry(at: until, countsAttempt: false, error: "rate-limited: \(message)")
        case .transient:
            if attempts >= settings.maxAttempts {
                return .giveUp(.dead, error: "gave up after \(attempts) attempts (maxAttempts): \(message)")
            }
            if age >= settings.maxAge.seconds {
                return .giveUp(.dead, error: "gave up after \(ConfigDuration(milliseconds: Int64(age * 1000))) (maxAge \(settings.maxAge)): \(message)")
            }
            let delay = backoff.delay(afterAttempt: attempts, random: random())
            return .retry(at: current.addingTimeInterval(Double(delay.milliseconds) / 1000), countsAttempt: true, error: message)
        }
    }

    func finish(_ job: DeliveryJob, attempt: AttemptRecord?, decision: FinishDecision, log: JobLogger) async throws {
        try await finish(job, attempts: attempt.map { [$0] } ?? [], decision: decision, log: log)
    }

    func finish(_ job: DeliveryJob, attempts: [AttemptRecord], decision: FinishDecision, checkRuns: [CheckRunChange] = [], log: JobLogger) async throws {
        let status = try await persisting("record the delivery outcome", log: log) {
            try await self.store.finish(job, attempts: attempts, decision: decision, checkRuns: checkRuns)
        }
        updateCounter(status)
        switch status {
        case .delivered:
            log.info("delivered", metadata: ["state": "\(job.state.rawValue)", "context": "\(job.context)", "attempts": "\(job.attempts)"])
        case .queued:
            if case .retry(let at, _, let error) = decision {
                log.notice("delivery failed; will retry", metadata: ["next": "\(Timestamp.rfc3339(Timestamp.ms(at)))", "error": "\(error.excerpt(200))"])
            }
        default:
            log.warning("update finished without delivery", metadata: ["delivery": "\(status.rawValue)", "error": "\(decision.errorText.excerpt(300))"])
        }
    }

    func attempt(_ outcome: CallOutcome, _ operation: AttemptRecord.Operation) -> AttemptRecord {
        AttemptRecord(at: outcome.startedAt, duration: outcome.duration, operation: operation, httpStatus: outcome.httpStatus,
                      errorClass: outcome.errorClass.label, error: outcome.message)
    }

    func count(_ provider: any StatusProvider, _ outcome: CallOutcome) {
        StatusMetrics.providerCall(provider.name, outcome.errorClass.label)
    }

    private func updateCounter(_ status: DeliveryStatus) {
        StatusMetrics.update(status)
    }

}

/// Logs with the job's update and workflow ids, building that metadata only for lines that are
/// actually written.
struct JobLogger {
    let logger: Logger
    /// "update", or "rerun" for a re-run request.
    let kind: String
    let id: Int64
    let workflow: WorkflowRef

    init(logger: Logger, job: DeliveryJob) {
        self.init(logger: logger, kind: "update", id: job.id, workflow: job.workflow)
    }

    init(logger: Logger, kind: String, id: Int64, workflow: WorkflowRef) {
        self.logger = logger
        self.kind = kind
        self.id = id
        self.workflow = workflow
    }

    private func merged(_ extra: Logger.Metadata) -> Logger.Metadata {
        var m = extra
        m[kind] = "\(id)"
        m["workflow"] = "\(workflow.namespace)/\(workflow.name)"
        return m
    }

    func info(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        logger.info(message(), metadata: merged(metadata()))
    }

    func notice(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        logger.notice(message(), metadata: merged(metadata()))
    }

    func warning(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        logger.warning(message(), metadata: merged(metadata()))
    }

    func error(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        logger.error(message(), metadata: merged(metadata()))
    }
}

extension FinishDecision {
    var errorText: String {
        switch self {
        case .retry(_, _, let e), .giveUp(_, let e), .superseded(_, let e): return e
        default: return ""
        }
    }
}
