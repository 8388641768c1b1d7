import Foundation
import StatusSyncCore

/// An update claimed for delivery (status `delivering`).
public struct DeliveryJob: Sendable, Equatable {
    public var id: Int64
    public var provider: String
    public var repo: String
    public var sha: String?
    public var pr: Int?
    public var ref: String?
    public var context: String
    public var state: NeutralState
    public var description: String
    public var targetURL: String?
    public var comment: String?
    public var workflow: WorkflowRef
    /// Attempts counted so far, including the one this claim starts.
    public var attempts: Int
    public var createdAt: Date
    /// Start of the maxAge clock.
    public var ageFrom: Date
    /// A commit status or a check run (docs/design.md#check-runs).
    public var report: ReportKind = .status
}

/// What a check update's delivery needs to know about its run (docs/design.md#check-runs).
public struct CheckRunPlan: Sendable, Equatable {
    /// An older workflow's run on the same commit and context that is not completed yet.
    public struct OlderRun: Sendable, Equatable {
        public var recordID: Int64
        public var checkRunID: Int64?
        public var workflow: WorkflowRef
    }

    /// statussync's record of the run: `external_id` is `statussync:<recordID>`.
    public var recordID: Int64
    /// GitHub's id, once created or adopted.
    public var checkRunID: Int64?
    /// The record was made by this call: no earlier create can have reached GitHub.
    public var fresh: Bool
    /// A newer workflow's update that already completed this run as neutral.
    public var supersededBy: Int64?
    /// When the workflow's first running update for the context was accepted.
    public var startedAt: Date?
    /// Runs of older workflows to complete as neutral ("Superseded by …") first.
    public var older: [OlderRun]
    /// The author's summary and failed steps, from the plugin body that made the update.
    public var page = CheckPageInput()

    public var externalID: String { "statussync:\(recordID)" }
}

/// What a delivery learned about a check run, recorded with its outcome.
public struct CheckRunChange: Sendable, Equatable {
    public var recordID: Int64
    public var checkRunID: Int64?
    public var status: String?
    public var conclusion: String?
    public var supersededBy: Int64?

    public init(recordID: Int64, checkRunID: Int64?, status: String? = nil, conclusion: String? = nil, supersededBy: Int64? = nil) {
        self.recordID = recordID
        self.checkRunID = checkRunID
        self.status = status
        self.conclusion = conclusion
        self.supersededBy = supersededBy
    }
}

/// What a claim returns: the jobs now `delivering`, and when to look again. Updates due but held
/// back because their subject is in flight are not in `nextDueAt`: the in-flight call's end wakes
/// the loop.
public struct ClaimBatch: Sendable {
    public var jobs: [DeliveryJob]
    /// When `jobs` is empty, the earliest `next_attempt_at` after the claim's clock reading (nil:
    /// nothing scheduled). Not looked up when jobs were claimed: the loop claims again at once.
    public var nextDueAt: Date?
    /// Providers whose due updates were left `queued` because their budget ran out: the loop
    /// looks again when their bucket refills.
    public var waitingForBudget: Set<String> = []
}

/// What a claim may take of one provider's due updates (docs/design.md#delivery-order).
public struct ClaimBudget: Sendable, Equatable {
    public var provider: String
    /// Calls the provider's pacing allows now; nil when it is not paced.
    public var calls: Int?

    public init(provider: String, calls: Int?) {
        self.provider = provider
        self.calls = calls
    }
}

/// One provider call as recorded in `attempts`.
public struct AttemptRecord: Sendable, Equatable {
    public enum Operation: String, Sendable {
        case status
        case resolvePR = "resolve-pr"
        case comment
        case checkCreate = "check-create"
        case checkUpdate = "check-update"
        case checkList = "check-list"
        case checkSupersede = "check-supersede"
        /// The Argo Server's resubmit of a re-run request.
        case resubmit
        /// The Argo Server's list of workflows resubmitted from the re-run's workflow, asked
        /// before a resubmit whose earlier try's answer was lost.
        case resubmitList = "resubmit-list"
    }

    public var at: Date
    public var duration: Duration
    public var operation: Operation
    public var httpStatus: Int?
    /// ok | transient | rate-limited | permanent
    public var errorClass: String
    public var error: String?

    public init(at: Date, duration: Duration, operation: Operation, httpStatus: Int?, errorClass: String, error: String?) {
        self.at = at
        self.duration = duration
        self.operation = operation
        self.httpStatus = httpStatus
        self.errorClass = errorClass
        self.error = error
    }
}

/// What the delivery loop concluded about an attempt.
public enum FinishDecision: Sendable, Equatable {
    case delivered
    /// Try again at `at`. Rate-limit waits do not count toward maxAttempts.
    case retry(at: Date, countsAttempt: Bool, error: String)
    /// `failed` (permanent error) or `dead` (maxAttempts / maxAge reached).
    case giveUp(DeliveryStatus, error: String)
    /// Not sent: a newer update (another workflow's check run) replaced it.
    case superseded(by: Int64, error: String)
}

/// The outcome of pinning a PR head for a claimed update.
public enum PinResult: Sendable, Equatable {
    /// Send it: the job now carries the pinned sha.
    case send(DeliveryJob)
    /// After pinning it is a duplicate or superseded; nothing to send.
    case notSent(DeliveryStatus)
    /// Another call for the pinned subject is in flight; the job went back to the queue.
    case busy
}

/// Where the delivery loop reads work and records attempts.
public protocol DeliveryStore: Sendable {
    /// Start-up: updates left `delivering` by a crash go back to the queue. Returns how many.
    func recoverInterrupted() async throws -> Int
    /// Claims up to `limit` due updates of the budgets' providers, at most `calls` of each, at most
    /// one per subject and none whose subject is in flight: final states first, then pending and
    /// running ones, oldest first within each, except that a pending or running update older than
    /// `maxDeferral` ranks among the finals by its accept time. Also says when the next queued
    /// update not yet due will be.
    func claimDue(limit: Int, budgets: [ClaimBudget], maxDeferral: ConfigDuration) async throws -> ClaimBatch
    /// Updates queued for a provider that is not configured any more become `failed`, saying so.
    func failUnconfigured(providers: [String]) async throws -> Int
    /// The head already pinned for this workflow's PR, if any.
    func pinnedHead(provider: String, repo: String, pr: Int, workflowUID: String) async throws -> PullRequestHead?
    /// Pins a PR head for the job's workflow (recording the lookup attempt, if one was made) and
    /// re-decides dedup/supersede for the updates that joined the pinned sha.
    func pin(_ job: DeliveryJob, head: PullRequestHead, attempt: AttemptRecord?) async throws -> PinResult
    /// Records the attempts (provider calls made) and moves the update on. Returns its new status.
    @discardableResult
    func finish(_ job: DeliveryJob, attempts: [AttemptRecord], decision: FinishDecision) async throws -> DeliveryStatus
    /// A check update's run record (made now if it is the workflow's first delivery for the
    /// context), with what its delivery must do first.
    func prepareCheckRun(_ job: DeliveryJob) async throws -> CheckRunPlan
    /// `finish`, also recording what was learned about check runs (ids, statuses), in the same transaction.
    @discardableResult
    func finish(_ job: DeliveryJob, attempts: [AttemptRecord], decision: FinishDecision, checkRuns: [CheckRunChange]) async throws -> DeliveryStatus
}

extension DeliveryStore {
    @discardableResult
    public func finish(_ job: DeliveryJob, attempt: AttemptRecord?, decision: FinishDecision) async throws -> DeliveryStatus {
        try await finish(job, attempts: attempt.map { [$0] } ?? [], decision: decision)
    }
}
