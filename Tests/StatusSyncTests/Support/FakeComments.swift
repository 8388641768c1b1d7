import Foundation
import Synchronization

/// Pull-request comments of a fake provider: listed page by page in ascending id order, created,
/// edited (Bitbucket Data Center checks the version).
final class FakeComments: Sendable {
    struct Comment: Sendable, Equatable {
        var id: Int
        var body: String
        var version: Int
    }

    private let state = Mutex<(comments: [String: [Comment]], nextID: Int)>(([:], 1000))

    func all(_ thread: String) -> [Comment] { state.withLock { $0.comments[thread] ?? [] } }
    func allThreads() -> [String] { state.withLock { Array($0.comments.keys) } }

    /// Adds `count` comments by other people, so statussync's comment is not on the first page.
    func preload(_ thread: String, count: Int) {
        for i in 0..<count { _ = create(thread, body: "review comment \(i)") }
    }

    func page(_ thread: String, page: Int, size: Int) -> (items: [Comment], more: Bool) {
        let all = all(thread)
        let start = max(0, (page - 1) * size)
        guard start < all.count else { return ([], false) }
        let end = min(all.count, start + size)
        return (Array(all[start..<end]), end < all.count)
    }

    func create(_ thread: String, body: String) -> Comment {
        state.withLock { s in
            let c = Comment(id: s.nextID, body: body, version: 0)
            s.nextID += 1
            s.comments[thread, default: []].append(c)
            return c
        }
    }

    /// Nil when there is no such comment, or (with `version`) when it is not the current version.
    func edit(_ thread: String, id: Int, body: String, version: Int? = nil) -> Comment? {
        state.withLock { s in
            guard let i = s.comments[thread]?.firstIndex(where: { $0.id == id }) else { return nil }
            if let version, s.comments[thread]![i].version != version { return nil }
            s.comments[thread]![i].body = body
            s.comments[thread]![i].version += 1
            return s.comments[thread]![i]
        }
    }
}

extension FakeComments {
    /// Threads whose key starts with `prefix` (a repo's PRs), for edit endpoints that name only the comment.
    func threads(prefix: String) -> [String] {
        allThreads().filter { $0.hasPrefix(prefix) }
    }
}
