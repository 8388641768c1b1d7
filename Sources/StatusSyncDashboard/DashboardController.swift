import Foundation
import Hummingbird
import StatusSyncCore
import StatusSyncStore

/// The dashboard's pages. Each reads through the store's read-only queries (the CLI's), so the
/// pages work while deliveries run and never hold the writer.
struct DashboardController: Sendable {
    let deps: DashboardDependencies
    let pages: DashboardPages

    static let pageSize = 50

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/") { _, _ in try await overview() }
        router.get("/updates") { request, _ in try await updates(Self.query(request)) }
        router.get("/updates/:id") { request, context in
            guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound, message: "no such update") }
            return try await update(id)
        }
        router.get("/calls") { request, _ in try await calls(Self.query(request)) }
        router.get("/backlog") { _, _ in try await backlog() }
        router.get("/style.css") { _, _ in pages.stylesheetResponse }
    }

    /// The query string's parameters (the first of each name).
    static func query(_ request: Request) -> [String: String] {
        Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { first, _ in first })
    }

    /// A page's values with the layout's; absent values are left out, so a template's section
    /// for them (`{{#next}}…{{/next}}`) is skipped.
    private func page(_ title: String, _ content: [String: Any?]) -> [String: Any] {
        content.compactMapValues { $0 }.merging([
            "title": title, "version": deps.version, "database": deps.store.database.path,
            "now": Timestamp.rfc3339(Timestamp.ms(deps.now())),
        ]) { current, _ in current }
    }

    // MARK: - /

    func overview() async throws -> Response {
        let counts = try await deps.store.statusCounts()
        let backlogs = Dictionary(try await deps.store.backlogSummary().map { ($0.provider, $0) }, uniquingKeysWith: { a, _ in a })
        let now = deps.now()
        var providers: [[String: Any]] = []
        for provider in deps.providers {
            let backlog = backlogs[provider.name]
            let pacing = deps.delivery?.pacing(of: provider.name)
            let perSecond = pacing?.perSecond ?? provider.pacing.map { $0.perMinute / 60 }
            var drain = "unpaced"
            if let perSecond, perSecond > 0 {
                let pause = pacing?.pausedFor ?? backlog?.earliestNextAttempt.map { $0.timeIntervalSince(now) } ?? 0
                drain = backlog.map { DrainTime.text(seconds: $0.drainSeconds(perSecond: perSecond, pausedFor: pause)) } ?? "0s"
            }
            let errors = try await deps.store.recentErrors(provider: provider.name).map { e -> [String: Any] in
                ["updateID": e.updateID, "at": e.at, "ago": RelativeTime.text(e.at, now: now),
                 "status": e.httpStatus.map { "HTTP \($0)" } ?? "no response", "errorClass": e.errorClass, "error": (e.error ?? "").excerpt(200)]
            }
            providers.append([
                "name": provider.name, "kind": provider.kind, "waiting": backlog?.waiting ?? 0,
                "oldest": backlog.map { DrainTime.text(seconds: $0.oldestAge(at: now)) } ?? "-",
                "drain": drain, "budget": pacing?.available.map { "\($0) calls now" } ?? (perSecond == nil ? "-" : "?"),
                "errors": errors,
            ])
        }
        let countRows: [[String: Any]] = DeliveryStatus.allCases.map { ["status": $0.rawValue, "count": counts[$0] ?? 0] }
        return pages.render("overview", page("Overview", ["counts": countRows, "providers": providers]))
    }

    // MARK: - /updates

    /// The CLI's `history` filters, as query parameters.
    static let filterNames: [(name: String, label: String)] = [
        ("repo", "Repo"), ("sha", "Commit"), ("context", "Context"), ("workflow", "Workflow"), ("namespace", "Namespace"),
        ("state", "State"), ("delivery", "Delivery"), ("since", "Since"),
    ]

    func updates(_ query: [String: String]) async throws -> Response {
        var filter = HistoryFilter()
        filter.limit = Self.pageSize + 1
        var problems: [String] = []
        func text(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }
        filter.repo = text("repo")
        filter.sha = text("sha")
        filter.context = text("context")
        filter.workflow = text("workflow")
        filter.namespace = text("namespace")
        if let v = text("state") {
            if let state = NeutralState(rawValue: v.lowercased()) { filter.state = state } else { problems.append("unknown state \"\(v)\"") }
        }
        if let v = text("delivery") {
            if let status = DeliveryStatus(rawValue: v.lowercased()) { filter.delivery = status } else { problems.append("unknown delivery status \"\(v)\"") }
        }
        if let v = text("since") {
            if let duration = ConfigDuration(parsing: v) { filter.since = deps.now().addingTimeInterval(-duration.seconds) } else { problems.append("since \"\(v)\" is not a duration such as 2h or 30m") }
        }
        if let v = text("before"), let id = Int64(v) { filter.beforeID = id }
        var rows = problems.isEmpty ? try await deps.store.history(filter) : []
        var next: String? = nil
        if rows.count > Self.pageSize {
            rows.removeLast()
            var items = Self.filterNames.compactMap { f in text(f.name).map { (f.name, $0) } }
            items.append(("before", String(rows.last!.id)))
            next = "/updates?" + items.map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")
        }
        let now = deps.now()
        let model: [String: Any?] = [
            "filters": Self.filterNames.map { ["name": $0.name, "label": $0.label, "value": text($0.name) ?? ""] },
            "rows": rows.map { u -> [String: Any] in
                ["id": u.id, "createdAt": u.createdAt, "createdAgo": RelativeTime.text(u.createdAt, now: now), "provider": u.provider,
                 "repo": u.repo, "target": u.sha.map { String($0.prefix(12)) } ?? u.pr.map { "#\($0)" } ?? "-", "context": u.context,
                 "state": u.state.rawValue, "delivery": u.delivery.status.rawValue, "attempts": u.delivery.attempts,
                 "namespace": u.workflow.namespace, "workflow": u.workflow.name, "lastError": (u.delivery.lastError ?? "").excerpt(120)]
            },
            "next": next, "error": problems.isEmpty ? nil : problems.joined(separator: "; "),
        ]
        return pages.render("updates", page("Updates", model))
    }

    /// A query-string value: letters, digits and `-._~` as they are, everything else %-encoded.
    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    // MARK: - /updates/{id}

    func update(_ id: Int64) async throws -> Response {
        guard let detail = try await deps.store.detail(id: id) else { throw HTTPError(.notFound, message: "no update with id \(id)") }
        let u = detail.update
        let now = deps.now()
        var link: String? = nil
        if let linked = u.delivery.linkedUpdateId {
            switch u.delivery.status {
            case .duplicate: link = "duplicate of"
            case .superseded: link = "superseded by"
            case .stale: link = "after the final"
            default: link = "linked to"
            }
        }
        let target = u.targetURL.flatMap { url -> String? in
            let lower = url.lowercased()
            return lower.hasPrefix("https://") || lower.hasPrefix("http://") ? url : nil
        }
        let update: [String: Any?] = [
            "reportText": u.report == .check ? "check run" + (u.checkRunId.map { " \($0)" } ?? " (not created yet)") : "commit status",
            "state": u.state.rawValue, "repo": u.repo, "sha": u.sha, "pr": u.pr, "context": u.context, "provider": u.provider,
            "description": u.description, "targetLink": target, "targetText": u.targetURL ?? "-",
            "namespace": u.workflow.namespace, "workflow": u.workflow.name, "uid": u.workflow.uid,
            "createdAt": u.createdAt, "createdAgo": RelativeTime.text(u.createdAt, now: now),
            "delivery": u.delivery.status.rawValue, "attempts": u.delivery.attempts, "linkText": link, "linkedID": u.delivery.linkedUpdateId,
            "nextAttemptAt": u.delivery.nextAttemptAt, "nextAttemptIn": RelativeTime.text(u.delivery.nextAttemptAt, now: now),
            "deliveredAt": u.delivery.deliveredAt, "deliveredAgo": RelativeTime.text(u.delivery.deliveredAt, now: now),
            "lastError": u.delivery.lastError, "comment": u.comment,
        ]
        let model: [String: Any?] = [
            "update": update.compactMapValues { $0 },
            "calls": detail.calls.map { c -> [String: Any] in
                ["id": c.id, "receivedAt": c.receivedAt, "receivedAgo": RelativeTime.text(c.receivedAt, now: now), "template": c.template,
                 "key": c.key ?? "", "repeats": c.repeats, "outcome": c.error ?? c.reply?.canonicalText ?? ""]
            },
            "attempts": detail.attempts.map { a -> [String: Any] in
                ["at": a.at, "ago": RelativeTime.text(a.at, now: now), "operation": a.operation, "durationMs": a.durationMs,
                 "httpStatus": a.httpStatus.map(String.init) ?? "no response", "errorClass": a.errorClass, "error": a.error ?? ""]
            },
            "isCheck": u.report == .check ? true : nil,
            "reruns": detail.reruns.map { r -> [String: Any] in
                ["id": r.id, "requestedAt": r.requestedAt, "requestedAgo": RelativeTime.text(r.requestedAt, now: now), "action": r.action,
                 "sender": r.sender ?? "-", "workflow": r.workflow, "status": r.status, "tries": r.tries.count,
                 "outcome": r.newWorkflow.map { "resubmitted as \($0)" } ?? r.lastError ?? ""]
            },
        ]
        return pages.render("update", page("Update \(id)", model))
    }

    // MARK: - /calls

    func calls(_ query: [String: String]) async throws -> Response {
        var filter = CallsFilter()
        filter.rejectedOnly = query["rejected"].map { $0 == "1" || $0 == "true" } ?? false
        filter.limit = Self.pageSize
        let now = deps.now()
        let rows = try await deps.store.calls(filter)
        let model: [String: Any?] = [
            "rejectedOnly": filter.rejectedOnly,
            "rows": rows.map { c -> [String: Any] in
                let row: [String: Any?] = ["id": c.id, "receivedAt": c.receivedAt, "receivedAgo": RelativeTime.text(c.receivedAt, now: now),
                    "namespace": c.workflow.namespace, "workflow": c.workflow.name, "template": c.template, "updateID": c.updateId,
                    "rejected": c.error != nil, "outcome": (c.error ?? c.reply?.canonicalText ?? "").excerpt(300)]
                return row.compactMapValues { $0 }
            },
        ]
        return pages.render("calls", page(filter.rejectedOnly ? "Rejected calls" : "Calls", model))
    }

    // MARK: - /backlog

    func backlog() async throws -> Response {
        let now = deps.now()
        let summaries = try await deps.store.backlogSummary().map { backlog in
            backlog.summaryLine(pacing: deps.providers.first { $0.name == backlog.provider }?.pacing,
                                pausedFor: deps.delivery?.pacing(of: backlog.provider).pausedFor, now: now)
        }
        let rows = try await deps.store.backlog(limit: 500).map { u -> [String: Any] in
            let row: [String: Any?] = ["id": u.id, "delivery": u.delivery.status.rawValue, "state": u.state.rawValue, "provider": u.provider, "repo": u.repo,
             "target": u.sha.map { String($0.prefix(12)) } ?? u.pr.map { "#\($0)" } ?? "-", "context": u.context, "attempts": u.delivery.attempts,
             "nextAttemptAt": u.delivery.nextAttemptAt, "nextAttemptIn": RelativeTime.text(u.delivery.nextAttemptAt, now: now),
             "lastError": (u.delivery.lastError ?? "").excerpt(120)]
            return row.compactMapValues { $0 }
        }
        return pages.render("backlog", page("Backlog", ["summaries": summaries, "rows": rows]))
    }
}
