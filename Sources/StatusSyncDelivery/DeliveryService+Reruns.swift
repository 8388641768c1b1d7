import Foundation
import Logging
import StatusSyncCore
import StatusSyncProviders
import StatusSyncStore

extension DeliveryService {
    /// The webhook recorded a re-run request: resubmit it now (docs/design.md#re-run).
    public func rerunRecorded() {
        scheduleReruns(at: now())
        signal.signal()
    }

    /// At start: requeue re-runs a stop interrupted, and look for waiting ones.
    func recoverReruns() async throws {
        guard let reruns else { return }
        let recovered = try await reruns.recoverInterruptedReruns()
        if recovered > 0 {
            logger.notice("requeued re-runs interrupted by the last stop", metadata: ["count": "\(recovered)"])
        }
        scheduleReruns(at: now())
    }

    func scheduleReruns(at date: Date) {
        rerunDueAt.withLock { due in due = min(due ?? date, date) }
    }

    /// The re-runs due now, claimed; nil when none is due by the schedule kept in memory.
    func claimReruns(limit: Int) async throws -> [RerunJob]? {
        guard let reruns, let due = rerunDueAt.withLock({ $0 }), due <= now() else { return nil }
        // Cleared before the claim: a request recorded meanwhile schedules itself again.
        rerunDueAt.withLock { if $0 == due { $0 = nil } }
        do {
            let (jobs, next) = try await reruns.claimDueReruns(limit: limit)
            if !jobs.isEmpty {
                scheduleReruns(at: now())
            } else if let next {
                scheduleReruns(at: next)
            }
            return jobs
        } catch {
            scheduleReruns(at: now().addingTimeInterval(1))
            throw error
        }
    }

    /// One re-run: `PUT …/resubmit` on the Argo Server, then its outcome recorded with the retry
    /// rules of a provider call. When an earlier try's answer was lost, the workflow it may have
    /// made is looked for first and adopted, so a Re-run starts the workflow once.
    func resubmit(_ job: RerunJob) async {
        guard let resubmitter, let reruns else { return }
        let log = JobLogger(logger: logger, kind: "rerun", id: job.id, workflow: job.workflow)
        var tries: [AttemptRecord] = []
        var result: (outcome: CallOutcome, newWorkflow: String?)?
        var adopted = false
        if job.mayHaveResubmitted {
            let (listed, found) = await resubmitter.findResubmitted(namespace: job.workflow.namespace, name: job.workflow.name,
                                                                    since: job.createdAt, excluding: job.madeByOthers)
            tries.append(attempt(listed, .resubmitList))
            adopted = found != nil
            if listed.errorClass != .ok || adopted { result = (listed, found) }
        }
        let (outcome, newWorkflow) = await {
            if let result { return result }
            let made = await resubmitter.resubmit(namespace: job.workflow.namespace, name: job.workflow.name)
            tries.append(attempt(made.0, .resubmit))
            return made
        }()
        let decision = decision(for: outcome, attempts: job.attempts, ageFrom: job.createdAt, pausing: nil)
        do {
            try await persisting("record the re-run's outcome", log: log) {
                try await reruns.finishRerun(job, attempts: tries, decision: decision, newWorkflow: newWorkflow)
            }
        } catch {
            log.info("re-run abandoned at shutdown; retried at next start")
            return
        }
        switch decision {
        case .delivered:
            StatusMetrics.rerun("delivered")
            log.notice(adopted ? "found the workflow an earlier resubmit made; not resubmitting again" : "workflow resubmitted",
                       metadata: ["new": "\(job.workflow.namespace)/\(newWorkflow ?? "?")"])
        case .retry(let at, _, let error):
            scheduleReruns(at: at)
            log.notice("resubmit failed; will retry", metadata: ["next": "\(Timestamp.rfc3339(Timestamp.ms(at)))", "error": "\(error.excerpt(200))"])
        case .giveUp(let status, let error):
            StatusMetrics.rerun(status.rawValue)
            log.warning("re-run given up", metadata: ["status": "\(status.rawValue)", "error": "\(error.excerpt(300))"])
        case .superseded:
            break
        }
    }
}
