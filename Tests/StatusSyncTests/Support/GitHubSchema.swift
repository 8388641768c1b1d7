import Foundation
import StatusSyncCore

/// The create-commit-status request schema from the official OpenAPI fragment
/// (provider-specs/github-statuses.json), used by the fake to reject any body GitHub would not
/// describe: missing required fields, wrong types, values outside an enum, unknown fields.
struct GitHubSchema: Sendable {
    struct Property: Sendable {
        var type: String
        var nullable: Bool
        var enumValues: [String]?
    }

    let properties: [String: Property]
    let required: [String]

    static let statusRequest: GitHubSchema = {
        let spec = try! JSONValue.parse(try! TestPaths.githubSpec())
        let schema = spec["paths"]!["/repos/{owner}/{repo}/statuses/{sha}"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!
        var props: [String: Property] = [:]
        for (name, p) in schema["properties"]!.objectValue! {
            var values: [String]? = nil
            if case .array(let items)? = p["enum"] { values = items.compactMap(\.stringValue) }
            var nullable = false
            if case .bool(let b)? = p["nullable"] { nullable = b }
            props[name] = Property(type: p["type"]!.stringValue!, nullable: nullable, enumValues: values)
        }
        var required: [String] = []
        if case .array(let items)? = schema["required"] { required = items.compactMap(\.stringValue) }
        return GitHubSchema(properties: props, required: required)
    }()

    /// Nil when valid, else what is wrong.
    func violation(_ body: JSONValue) -> String? {
        guard case .object(let fields) = body else { return "body is not an object" }
        for name in required where fields[name] == nil { return "missing required field \(name)" }
        for (name, value) in fields {
            guard let p = properties[name] else { return "unknown field \(name)" }
            switch value {
            case .null where p.nullable: continue
            case .string(let s) where p.type == "string":
                if let allowed = p.enumValues, !allowed.contains(s) { return "\(name) \"\(s)\" not in \(allowed)" }
            default:
                return "\(name) has the wrong type (\(value.typeDescription), schema says \(p.type))"
            }
        }
        return nil
    }
}
