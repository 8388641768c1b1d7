import Foundation
import StatusSyncCore

/// A developer's request, through GitHub, to run a workflow again (docs/design.md#re-run).
public struct RerunRequest: Sendable, Equatable {
    /// `X-GitHub-Delivery`: a redelivery of the same request carries the same id.
    public var deliveryID: String
    /// The provider whose webhook secret signed the delivery.
    public var provider: String
    /// statussync's check-run record, from the run's `external_id`.
    public var recordID: Int64
    /// GitHub's id of the run, when the delivery gives it.
    public var checkRunID: Int64?
    /// `repository.full_name` of the delivery.
    public var repo: String
    /// `requested_action` or `rerequested`.
    public var action: String
    public var sender: String?

    public init(deliveryID: String, provider: String, recordID: Int64, checkRunID: Int64?, repo: String, action: String, sender: String?) {
        self.deliveryID = deliveryID
        self.provider = provider
        self.recordID = recordID
        self.checkRunID = checkRunID
        self.repo = repo
        self.action = action
        self.sender = sender
    }
}

/// What recording a re-run request did.
public enum RerunRecordResult: Sendable, Equatable {
    /// A new request, queued (or failed at once, when there is nothing to resubmit with).
    case recorded(id: Int64, workflow: WorkflowRef)
    /// The same `X-GitHub-Delivery` was recorded before: nothing new.
    case repeated(id: Int64)
    /// No check run of statussync's matches (another provider's, another repository's, or pruned).
    case unknownRun
}

/// A queued re-run the delivery loop resubmits.
public struct RerunJob: Sendable, Equatable {
    public var id: Int64
    public var provider: String
    /// The workflow to resubmit (its uid is not needed and not known here).
    public var workflow: WorkflowRef
    /// Attempts counted so far, including the one this claim starts.
    public var attempts: Int
    public var createdAt: Date
    /// An earlier resubmit may have reached the Argo Server without its answer being recorded
    /// (no answer, a 5xx, or a stop while it was under way): look for its workflow first.
    public var mayHaveResubmitted: Bool = false
    /// The workflows other re-runs of the same workflow made: never adopted as this one's.
    public var madeByOthers: Set<String> = []
}

/// One re-run request as `show` lists it, with its attempts.
public struct RerunView: Sendable, Encodable, Equatable {
    public var id: Int64
    public var requestedAt: String
    public var deliveryId: String
    public var action: String
    public var sender: String?
    public var workflow: String
    public var status: String
    public var attempts: Int
    public var lastError: String?
    public var newWorkflow: String?
    public var tries: [AttemptView]
}

/// The store side of re-runs: recorded by the webhook route, resubmitted by the delivery loop.
public protocol RerunStore: Sendable {
    /// Records a request once per delivery id, in one transaction. With `failure` set, the
    /// request is recorded as failed with that reason (nothing can resubmit it).
    func recordRerun(_ request: RerunRequest, failure: String?) async throws -> RerunRecordResult
    /// Moves due re-runs to `delivering`; when none is due, the earliest later due time.
    func claimDueReruns(limit: Int) async throws -> (jobs: [RerunJob], nextDueAt: Date?)
    /// Records the calls of a try and what follows it (delivered, retry or give up).
    func finishRerun(_ job: RerunJob, attempts: [AttemptRecord], decision: FinishDecision, newWorkflow: String?) async throws
    /// Requeues re-runs left `delivering` by a crash; how many.
    func recoverInterruptedReruns() async throws -> Int
}
