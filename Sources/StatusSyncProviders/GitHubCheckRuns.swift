import Foundation
import StatusSyncCore

/// One check run's desired state, as GitHub's check-runs API takes it (docs/design.md#check-runs).
public struct CheckRunDelivery: Sendable, Equatable {
    public var repo: String
    public var sha: String
    /// The run's name: the update's context, so branch protection keeps matching it.
    public var name: String
    /// `statussync:<check-run record id>`: finds the run again after a lost answer or a crash.
    public var externalID: String
    public var detailsURL: String?
    /// `queued`, `in_progress` or `completed`.
    public var status: String
    public var conclusion: String?
    public var startedAt: Date?
    public var completedAt: Date?
    public var title: String
    public var summary: String
    /// Whether the run shows the Re-run button: nil leaves GitHub's list as it is, false
    /// clears it (docs/design.md#re-run).
    public var offersRerun: Bool?

    public init(repo: String, sha: String, name: String, externalID: String, detailsURL: String?, status: String, conclusion: String?,
                startedAt: Date?, completedAt: Date?, title: String, summary: String) {
        self.repo = repo
        self.sha = sha
        self.name = name
        self.externalID = externalID
        self.detailsURL = detailsURL
        self.status = status
        self.conclusion = conclusion
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.title = title
        self.summary = summary
    }

    /// GitHub's status and conclusion for a neutral state: pending → queued, running →
    /// in_progress, success/failure/cancelled/skipped → completed with that conclusion, error →
    /// completed/failure.
    public static func status(for state: NeutralState) -> (status: String, conclusion: String?) {
        switch state {
        case .pending: return ("queued", nil)
        case .running: return ("in_progress", nil)
        case .success: return ("completed", "success")
        case .failure, .error: return ("completed", "failure")
        case .cancelled: return ("completed", "cancelled")
        case .skipped: return ("completed", "skipped")
        }
    }

    /// The Re-run button: GitHub sends `check_run.requested_action` with this identifier when
    /// it is pressed.
    public static let rerunIdentifier = "statussync-rerun"
    static let rerunAction: JSONValue = .object([
        "label": .string("Re-run"), "identifier": .string(rerunIdentifier), "description": .string("Resubmit this Argo workflow"),
    ])

    /// Conclusions whose run offers Re-run (when an Argo Server is configured).
    public static func offersRerun(conclusion: String?) -> Bool {
        conclusion == "failure" || conclusion == "cancelled" || conclusion == "neutral"
    }

    /// `2026-12-04T10:00:00Z`.
    public static func iso8601(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ n: Int?) -> String { let v = n ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year ?? 1970)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))Z"
    }

    /// The request body: create (with name, head_sha, external_id) or PATCH (without them).
    func body(create: Bool) -> JSONValue {
        var fields: [String: JSONValue] = [
            "status": .string(status),
            "output": .object(["title": .string(title), "summary": .string(summary)]),
        ]
        if create {
            fields["name"] = .string(name)
            fields["head_sha"] = .string(sha)
            fields["external_id"] = .string(externalID)
        }
        if let detailsURL { fields["details_url"] = .string(detailsURL) }
        if let conclusion { fields["conclusion"] = .string(conclusion) }
        if let startedAt { fields["started_at"] = .string(Self.iso8601(startedAt)) }
        if let completedAt { fields["completed_at"] = .string(Self.iso8601(completedAt)) }
        if let offersRerun { fields["actions"] = .array(offersRerun ? [Self.rerunAction] : []) }
        return .object(fields)
    }
}

/// A provider that can report updates as check runs (GitHub with a GitHub App).
public protocol CheckRunProvider: StatusProvider {
    /// `POST /repos/{o}/{r}/check-runs`; GitHub's id of the new run when the outcome is ok.
    func createCheckRun(_ run: CheckRunDelivery) async -> (CallOutcome, Int64?)
    /// `PATCH /repos/{o}/{r}/check-runs/{id}`.
    func updateCheckRun(id: Int64, _ run: CheckRunDelivery) async -> CallOutcome
    /// Lists the commit's runs of that name (every page) and returns the id of the one whose
    /// `external_id` matches, if any.
    func findCheckRun(repo: String, sha: String, name: String, externalID: String) async -> (CallOutcome, Int64?)
}

extension GitHubProvider: CheckRunProvider {
    public func createCheckRun(_ run: CheckRunDelivery) async -> (CallOutcome, Int64?) {
        let (outcome, response) = await authorized { headers in
            await call.send(.POST, "\(baseURL)/repos/\(run.repo)/check-runs", headers: headers, json: run.body(create: true),
                            notFound: "repository \(run.repo) not found, or the GitHub App is not installed on it", special: rateLimit)
        }
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        guard let id = (try? JSONValue.parse(response.body))?["id"]?.idText.flatMap({ Int64($0) }) else {
            // The run may exist: the next attempt lists the commit's runs before creating one.
            return (.unexpected("check run answer has no id", after: outcome), nil)
        }
        return (outcome, id)
    }

    public func updateCheckRun(id: Int64, _ run: CheckRunDelivery) async -> CallOutcome {
        await authorized { headers in
            await call.send(.PATCH, "\(baseURL)/repos/\(run.repo)/check-runs/\(id)", headers: headers, json: run.body(create: false),
                            notFound: "check run \(id) not found in \(run.repo)", special: rateLimit)
        }.0
    }

    public func findCheckRun(repo: String, sha: String, name: String, externalID: String) async -> (CallOutcome, Int64?) {
        let query = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        var page = 1
        while true {
            let (outcome, response) = await authorized { headers in
                await call.send(.GET, "\(baseURL)/repos/\(repo)/commits/\(sha)/check-runs?check_name=\(query)&filter=all&per_page=100&page=\(page)",
                                headers: headers, notFound: "commit \(sha) not found in \(repo)", special: rateLimit)
            }
            guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
            guard let json = try? JSONValue.parse(response.body), case .array(let runs)? = json["check_runs"] else {
                return (.unexpected("check runs answer has no check_runs list", after: outcome), nil)
            }
            if let match = runs.first(where: { $0["external_id"]?.stringValue == externalID }) {
                return (outcome, match["id"]?.idText.flatMap { Int64($0) })
            }
            if runs.count < 100 { return (outcome, nil) }
            page += 1
        }
    }
}
