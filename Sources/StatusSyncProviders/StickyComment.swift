import Foundation
import StatusSyncCore

/// A pull-request comment statussync keeps exactly once per (provider, repo, pr, context): found
/// again by a hidden marker on every page of the PR's comments, then edited in place.
public struct StickyComment: Sendable, Equatable {
    public var pr: Int
    public var context: String
    /// The Markdown the workflow asked for.
    public var body: String

    public init(pr: Int, context: String, body: String) {
        self.pr = pr
        self.context = context
        self.body = body
    }

    /// An HTML comment, invisible in rendered Markdown: `<!-- statussync:comment ci/argo -->`.
    public var marker: String {
        let safe = context.replacingOccurrences(of: "--", with: "‐‐").replacingOccurrences(of: ">", with: "›")
        return "<!-- statussync:comment \(safe) -->"
    }

    /// What is posted: the body, then the marker on its own line.
    public var text: String { "\(body)\n\n\(marker)" }
}

/// An existing comment as a provider lists it.
struct ExistingComment: Sendable {
    var id: String
    var body: String
    /// Bitbucket Data Center edits need the comment's version.
    var version: Int?
}

/// The upsert every provider runs: list every page, edit the comment that carries the marker (the
/// first, if a previous version of statussync left more), else create it.
enum CommentUpsert {
    static let maxPages = 100

    /// - Parameters:
    ///   - page: one page of comments (1-based) and whether another follows; an outcome on failure.
    static func run(_ comment: StickyComment, page: (Int) async -> (CallOutcome?, [ExistingComment], Bool),
                    edit: (ExistingComment) async -> CallOutcome, create: () async -> CallOutcome) async -> CallOutcome {
        var number = 1
        while number <= maxPages {
            let (failure, comments, more) = await page(number)
            if let failure { return failure }
            if let mine = comments.first(where: { $0.body.contains(comment.marker) }) {
                if mine.body == comment.text {
                    return CallOutcome(errorClass: .ok, httpStatus: nil, message: "comment \(mine.id) already says this", startedAt: Date(), duration: .zero)
                }
                return await edit(mine)
            }
            guard more else { break }
            number += 1
        }
        return await create()
    }

    /// The `next` link of a page, only when it stays on the provider's origin (a token is never
    /// sent elsewhere).
    static func sameOrigin(_ next: String?, as base: String) -> String? {
        guard let next, let a = URL(string: next), let b = URL(string: base),
              a.scheme == b.scheme, a.host == b.host, a.port == b.port else { return nil }
        return next
    }
}
