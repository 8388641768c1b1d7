import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncStore

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one update: what was asked, by which calls, every delivery attempt and, for a check run, its re-runs.",
        discussion: "The ID is the update-id output of the plugin node, or the ID column of history. Safe while serve runs."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The update id.") var id: Int64
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func run() async throws {
        let (_, store) = try global.openReadOnly()
        guard let detail = try await store.detail(id: id) else {
            throw CLIError("no update with id \(id) in \(store.database.path); list ids with statussync history")
        }
        if json { return try JSONOutput.print(detail) }
        let u = detail.update
        var lines: [String] = []
        lines.append("update \(u.id): \(u.state.rawValue) for \(u.repo)\(u.sha.map { "@\($0)" } ?? "")\(u.pr.map { " (PR #\($0))" } ?? "") context \"\(u.context)\"")
        lines.append("  provider:    \(u.provider)")
        lines.append("  description: \(u.description)")
        lines.append("  target URL:  \(u.targetURL ?? "-")")
        lines.append("  workflow:    \(u.workflow.namespace)/\(u.workflow.name) (uid \(u.workflow.uid))")
        lines.append("  created:     \(u.createdAt)")
        lines.append("  report:      \(u.report.rawValue)\(u.report == .check ? ", check run \(u.checkRunId.map(String.init) ?? "not created yet")" : "")")
        var delivery = "  delivery:    \(u.delivery.status.rawValue), \(u.delivery.attempts) attempt\(u.delivery.attempts == 1 ? "" : "s")"
        if let linked = u.delivery.linkedUpdateId {
            switch u.delivery.status {
            case .duplicate: delivery += ", duplicate of update \(linked)"
            case .superseded: delivery += ", superseded by update \(linked)"
            case .stale: delivery += ", after final update \(linked)"
            default: break
            }
        }
        lines.append(delivery)
        if let next = u.delivery.nextAttemptAt { lines.append("  next try:    \(next)") }
        if let at = u.delivery.deliveredAt { lines.append("  delivered:   \(at)") }
        if let err = u.delivery.lastError { lines.append("  last error:  \(err)") }
        lines.append("")
        lines.append("calls (\(detail.calls.count)):")
        for c in detail.calls {
            lines.append("  \(c.id)  \(c.receivedAt)  template \(c.template)\(c.key.map { "  key \($0)" } ?? "")\(c.repeats > 0 ? "  (+\(c.repeats) repeats)" : "")")
        }
        lines.append("")
        lines.append("attempts (\(detail.attempts.count)):")
        for a in detail.attempts {
            let status = a.httpStatus.map { "HTTP \($0)" } ?? "no response"
            lines.append("  \(a.at)  \(a.operation)  \(status)  \(a.errorClass)  \(a.durationMs)ms\(a.error.map { "  \($0)" } ?? "")")
        }
        if u.report == .check {
            lines.append("")
            lines.append("re-runs (\(detail.reruns.count)):")
            for r in detail.reruns {
                let outcome = r.newWorkflow.map { ", resubmitted as \($0)" } ?? r.lastError.map { ": \($0)" } ?? ""
                lines.append("  \(r.id)  \(r.requestedAt)  \(r.action) by \(r.sender ?? "?")  resubmit \(r.workflow): \(r.status)\(outcome)")
                for a in r.tries {
                    let status = a.httpStatus.map { "HTTP \($0)" } ?? "no response"
                    lines.append("      \(a.at)  \(a.operation)  \(status)  \(a.errorClass)  \(a.durationMs)ms\(a.error.map { "  \($0)" } ?? "")")
                }
            }
        }
        print(lines.map(\.escapingControlCharacters).joined(separator: "\n"))
    }
}
