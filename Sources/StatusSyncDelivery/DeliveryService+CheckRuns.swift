import Foundation
import Logging
import Metrics
import ServiceLifecycle
import StatusSyncCore
import StatusSyncProviders
import StatusSyncStore
import Synchronization

extension DeliveryService {
    /// A check update: complete older workflows' unfinished runs on the commit and context as
    /// neutral, then create this workflow's run (after looking for one an earlier attempt may
    /// have made) or PATCH it (docs/design.md#check-runs). All the calls and what they taught
    /// are recorded with the outcome, in one write.
    func sendCheckRun(_ job: DeliveryJob, sha: String, provider: any StatusProvider, log: JobLogger) async throws {
        guard let checks = provider as? any CheckRunProvider else {
            try await finish(job, attempt: nil, decision: .giveUp(.failed, error: "provider \(provider.name) (\(provider.kind)) cannot create check runs; use report: status"), log: log)
            return
        }
        let plan = try await persisting("prepare the check run record", log: log) { try await self.store.prepareCheckRun(job) }
        if let newer = plan.supersededBy {
            try await finish(job, attempts: [], decision: .superseded(by: newer, error: "a newer workflow's update \(newer) took this context and completed this workflow's check run as neutral"), log: log)
            return
        }
        var attempts: [AttemptRecord] = []
        var changes: [CheckRunChange] = []
        // The claim took one token; the extra calls (list, supersede) take theirs when the bucket has them.
        let bucket = buckets[provider.name]
        func record(_ outcome: CallOutcome, _ operation: AttemptRecord.Operation) {
            count(provider, outcome)
            StatusMetrics.checkRunCall(provider.name, operation.rawValue, outcome.errorClass.label)
            attempts.append(attempt(outcome, operation))
        }
        func stop(_ outcome: CallOutcome) async throws {
            try await finish(job, attempts: attempts, decision: decision(for: outcome, job: job, provider: provider.name), checkRuns: changes, log: log)
        }
        let finishedAt = now()
        for older in plan.older {
            let external = "statussync:\(older.recordID)"
            var runID = older.checkRunID
            if runID == nil {
                let (outcome, found) = await checks.findCheckRun(repo: job.repo, sha: sha, name: job.context, externalID: external)
                _ = bucket?.take(1)
                record(outcome, .checkList)
                guard outcome.errorClass == .ok else { try await stop(outcome); return }
                runID = found
            }
            guard let runID else {
                // Never created: nothing on GitHub to complete.
                changes.append(CheckRunChange(recordID: older.recordID, checkRunID: nil, status: "completed", conclusion: "neutral", supersededBy: job.id))
                continue
            }
            let title = "Superseded by \(job.workflow.namespace)/\(job.workflow.name)"
            var neutral = CheckRunDelivery(repo: job.repo, sha: sha, name: job.context, externalID: external, detailsURL: nil,
                                           status: "completed", conclusion: "neutral", startedAt: nil, completedAt: finishedAt, title: title,
                                           summary: "Workflow \(older.workflow.namespace)/\(older.workflow.name) gave way to \(Self.workflowLink(job)) for this commit and context.")
            if resubmitter != nil { neutral.offersRerun = true }
            let outcome = await checks.updateCheckRun(id: runID, neutral)
            _ = bucket?.take(1)
            record(outcome, .checkSupersede)
            switch outcome.errorClass {
            case .ok, .permanent:
                // A run GitHub no longer has (or refuses to change) is not retried for ever.
                changes.append(CheckRunChange(recordID: older.recordID, checkRunID: runID, status: "completed", conclusion: "neutral", supersededBy: job.id))
            default:
                try await stop(outcome)
                return
            }
        }

        let (status, conclusion) = CheckRunDelivery.status(for: job.state)
        let startedAt = job.state == .running ? (plan.startedAt ?? job.createdAt) : (job.state == .pending ? nil : plan.startedAt)
        let completedAt = conclusion == nil ? nil : job.createdAt
        var run = CheckRunDelivery(
            repo: job.repo, sha: sha, name: job.context, externalID: plan.externalID, detailsURL: job.targetURL,
            status: status, conclusion: conclusion, startedAt: startedAt, completedAt: completedAt, title: job.description,
            summary: CheckRunPage.summary(header: Self.checkSummary(job, status: status, conclusion: conclusion, startedAt: startedAt, completedAt: completedAt),
                                          input: plan.page))
        if resubmitter != nil, status == "completed" { run.offersRerun = CheckRunDelivery.offersRerun(conclusion: conclusion) }
        var runID = plan.checkRunID
        if runID == nil, !plan.fresh {
            // An earlier create may have reached GitHub (a lost answer, a crash): adopt that run.
            let (outcome, found) = await checks.findCheckRun(repo: job.repo, sha: sha, name: job.context, externalID: plan.externalID)
            _ = bucket?.take(1)
            record(outcome, .checkList)
            guard outcome.errorClass == .ok else { try await stop(outcome); return }
            if let found {
                runID = found
                changes.append(CheckRunChange(recordID: plan.recordID, checkRunID: found))
                log.info("adopted the check run an earlier attempt created", metadata: ["checkRun": "\(found)"])
            }
        }
        let outcome: CallOutcome
        if let runID {
            outcome = await checks.updateCheckRun(id: runID, run)
            record(outcome, .checkUpdate)
        } else {
            let (created, newID) = await checks.createCheckRun(run)
            outcome = created
            record(outcome, .checkCreate)
            if let newID { changes.append(CheckRunChange(recordID: plan.recordID, checkRunID: newID)) }
        }
        guard outcome.errorClass == .ok else { try await stop(outcome); return }
        changes.append(CheckRunChange(recordID: plan.recordID, checkRunID: nil, status: status, conclusion: conclusion))
        try await finish(job, attempts: attempts, decision: .delivered, checkRuns: changes, log: log)
        StatusMetrics.delivered(after: Int64(now().timeIntervalSince(job.createdAt) * 1e9))
    }

    /// `[ns/name](targetURL)`, or the plain name without a link.
    static func workflowLink(_ job: DeliveryJob) -> String {
        let name = "\(job.workflow.namespace)/\(job.workflow.name)"
        guard let url = job.targetURL else { return "`\(name)`" }
        return "[\(name)](\(url))"
    }

    /// The run's Markdown summary: the workflow as a link and its state, then its start, end and
    /// duration when known.
    static func checkSummary(_ job: DeliveryJob, status: String, conclusion: String?, startedAt: Date?, completedAt: Date?) -> String {
        var text = "Workflow \(workflowLink(job)): **\(job.state.rawValue)** (\(conclusion ?? status.replacingOccurrences(of: "_", with: " ")))"
        var times: [String] = []
        if let startedAt { times.append("started \(CheckRunDelivery.iso8601(startedAt))") }
        if let completedAt { times.append("finished \(CheckRunDelivery.iso8601(completedAt))") }
        if let startedAt, let completedAt, completedAt >= startedAt {
            times.append("took \(DrainTime.text(seconds: completedAt.timeIntervalSince(startedAt)))")
        }
        if !times.isEmpty { text += "\n\n" + times.joined(separator: " · ") }
        return text
    }
}
