import GRDB
import StatusSyncCore

/// The thing a status is about: (provider, repo, sha, context), or before a PR head is pinned,
/// (provider, repo, pr, workflow uid, context). Dedup, order and supersede are decided per subject.
struct Subject: Hashable, Sendable {
    var provider: String
    var repo: String
    var context: String
    var sha: String?
    var pr: Int?
    var workflowUID: String

    /// SQL condition selecting the subject's rows, and its arguments.
    var condition: (sql: String, arguments: StatementArguments) {
        (Self.sql(pinned: sha != nil), StatementArguments(rawArguments.map(\.databaseValue)))
    }

    /// The condition's SQL for a subject with a sha (`pinned`) or without one (a PR whose head is
    /// not pinned yet). It depends on nothing else, so hot paths build it once.
    static func sql(pinned: Bool, on alias: String? = nil) -> String {
        let u = alias.map { "\($0)." } ?? ""
        return pinned
            ? "\(u)provider = ? AND \(u)repo = ? AND \(u)sha = ? AND \(u)context = ?"
            : "\(u)provider = ? AND \(u)repo = ? AND \(u)sha IS NULL AND \(u)pr = ? AND \(u)workflow_uid = ? AND \(u)context = ?"
    }

    /// The arguments of `Subject.sql(pinned:on:)`.
    var rawArguments: [SQLArgument] {
        if let sha { return [.text(provider), .text(repo), .text(sha), .text(context)] }
        return [.text(provider), .text(repo), SQLArgument(pr), .text(workflowUID), .text(context)]
    }

    init(provider: String, repo: String, context: String, sha: String?, pr: Int?, workflowUID: String) {
        self.provider = provider
        self.repo = repo
        self.context = context
        self.sha = sha
        self.pr = sha == nil ? pr : nil
        self.workflowUID = sha == nil ? workflowUID : ""
    }

    init(row: Row) {
        self.init(provider: row["provider"], repo: row["repo"], context: row["context"], sha: row["sha"],
                  pr: row["pr"], workflowUID: row["workflow_uid"])
    }
}
