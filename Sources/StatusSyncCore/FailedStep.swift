import Foundation

/// One failed step of a workflow, as Argo lists it in `{{workflow.failures}}`: a row of a check
/// run's failed-steps table (docs/design.md#check-run-page).
public struct FailedStep: Sendable, Hashable {
    /// The node's display name (its `name` when Argo gives no display name).
    public var step: String
    public var template: String
    public var phase: String
    public var message: String

    public init(step: String, template: String, phase: String, message: String) {
        self.step = step
        self.template = template
        self.phase = phase
        self.message = message
    }
}

extension FailedStep {
    /// Reads the plugin body's `failures` as the agent delivers `{{workflow.failures}}`: a JSON
    /// text that may itself be a quoted JSON string (Argo double-encodes it), or a list given as
    /// JSON directly. `"null"`, `null`, empty text and the unsubstituted placeholder all mean "no
    /// failures" (nil); anything that is not a list of objects is an error naming the field.
    public static func parseList(_ value: JSONValue?) throws(PluginBodyError) -> [FailedStep]? {
        switch value {
        case nil, .null?:
            return nil
        case .array(let items)?:
            return try rows(items)
        case .string(let text)?:
            return try parseText(text, depth: 0)
        case let other?:
            throw PluginBodyError("failures is \(other.typeDescription); pass Argo's list as it is: failures: \"{{workflow.failures}}\"")
        }
    }

    private static func parseText(_ raw: String, depth: Int) throws(PluginBodyError) -> [FailedStep]? {
        let text = raw.trimmed
        if text.isEmpty || text == "null" { return nil }
        // Not substituted: the hook ran where Argo has no failures to give (a step-level template).
        if text.hasPrefix("{{"), text.hasSuffix("}}") { return nil }
        guard text.utf8.contains(0) == false else {
            throw PluginBodyError("failures contains a NUL character (\\u0000): pass Argo's list as it is: failures: \"{{workflow.failures}}\"")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(Data(text.utf8))
        } catch {
            throw PluginBodyError("failures is not JSON (\(error.reason.excerpt(80))): pass Argo's list as it is, failures: \"{{workflow.failures}}\", or leave failures out")
        }
        switch parsed {
        case .null:
            return nil
        case .array(let items):
            return try rows(items)
        case .string(let inner) where depth < 2:
            // Argo stores the list already quoted, and substitution quotes it again.
            return try parseText(inner, depth: depth + 1)
        default:
            throw PluginBodyError("failures is \(parsed.typeDescription), not a list of failed steps: pass Argo's list as it is, failures: \"{{workflow.failures}}\", or leave failures out")
        }
    }

    private static func rows(_ items: [JSONValue]) throws(PluginBodyError) -> [FailedStep]? {
        var steps: [FailedStep] = []
        steps.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .object(let fields) = item else {
                throw PluginBodyError("failures[\(i)] is \(item.typeDescription), not an object: failures must be a list of failed steps such as Argo's {{workflow.failures}}")
            }
            func text(_ key: String) -> String? {
                switch fields[key] {
                case .string(let s)?: return s.contains("\u{0}") ? s.replacingOccurrences(of: "\u{0}", with: "") : s
                case .number(let n)?: return n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
                case .bool(let b)?: return b ? "true" : "false"
                default: return nil
                }
            }
            steps.append(FailedStep(step: text("displayName") ?? text("name") ?? "", template: text("templateName") ?? "",
                                    phase: text("phase") ?? "", message: text("message") ?? ""))
        }
        return steps.isEmpty ? nil : steps
    }
}
