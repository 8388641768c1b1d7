/// A repository allow-list pattern of a tenant: `*` matches within one path segment, `**` across
/// segments (`my-org/*` covers `my-org/app`; `my-org/**` also covers GitLab subgroups
/// `my-org/team/app`). Matching is case-sensitive, like the paths themselves.
public struct RepoGlob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let tokens: [Token]

    private enum Token: Hashable, Sendable {
        case literal(Character)
        case star       // any run of characters without '/'
        case doubleStar // any run of characters, '/' included
    }

    public init(_ pattern: String) {
        self.pattern = pattern
        var tokens: [Token] = []
        var chars = Array(pattern)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if c == "*" {
                if chars.first == "*" {
                    chars = chars.dropFirst()
                    // `**/` also matches zero segments: `a/**/b` covers `a/b`.
                    tokens.append(.doubleStar)
                } else {
                    tokens.append(.star)
                }
            } else {
                tokens.append(.literal(c))
            }
        }
        self.tokens = tokens
    }

    public var description: String { pattern }

    public func matches(_ repo: String) -> Bool {
        let text = Array(repo)
        var memo: [Int: Bool] = [:]
        func match(_ t: Int, _ i: Int) -> Bool {
            let key = t * (text.count + 1) + i
            if let known = memo[key] { return known }
            let result: Bool
            if t == tokens.count {
                result = i == text.count
            } else {
                switch tokens[t] {
                case .literal(let c):
                    result = i < text.count && text[i] == c && match(t + 1, i + 1)
                case .star:
                    var j = i
                    var found = match(t + 1, j)
                    while !found && j < text.count && text[j] != "/" {
                        j += 1
                        found = match(t + 1, j)
                    }
                    result = found
                case .doubleStar:
                    var j = i
                    var found = match(t + 1, j)
                    // `**/` may match nothing at all, slash included.
                    if !found, t + 1 < tokens.count, tokens[t + 1] == .literal("/") { found = match(t + 2, j) }
                    while !found && j < text.count {
                        j += 1
                        found = match(t + 1, j)
                    }
                    result = found
                }
            }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }
}
