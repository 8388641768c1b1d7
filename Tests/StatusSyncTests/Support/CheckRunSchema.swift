import Foundation
import StatusSyncCore

/// The create and update check-run request schemas of the official OpenAPI fragment
/// (provider-specs/github-check-runs.json), used by the fake to answer 422 to any body GitHub
/// would refuse: unknown or missing fields, wrong types, values outside an enum, strings over
/// `maxLength`, lists over `maxItems`, and `status: completed` without `conclusion` (the
/// schema's oneOf/anyOf branches).
struct CheckRunSchema: Sendable {
    let schema: JSONValue

    static let create = CheckRunSchema(path: "/repos/{owner}/{repo}/check-runs", method: "post")
    static let update = CheckRunSchema(path: "/repos/{owner}/{repo}/check-runs/{check_run_id}", method: "patch")

    init(path: String, method: String) {
        let spec = try! JSONValue.parse(try! TestPaths.githubCheckRunsSpec())
        schema = spec["paths"]![path]![method]!["requestBody"]!["content"]!["application/json"]!["schema"]!
    }

    /// Nil when valid, else what is wrong.
    func violation(_ body: JSONValue) -> String? {
        if let problem = Self.check(body, against: schema, at: "body") { return problem }
        // The branches: a completed run needs its conclusion.
        if body["status"]?.stringValue == "completed", body["conclusion"] == nil { return "status completed without conclusion" }
        // GitHub counts the output's texts in characters and in UTF-8 bytes: both must fit.
        for field in ["summary", "text"] {
            if let text = body["output"]?[field]?.stringValue, text.utf8.count > 65_535 {
                return "Only 65535 characters are allowed; \(text.utf8.count) bytes were supplied (body.output.\(field))"
            }
        }
        return nil
    }

    static func check(_ value: JSONValue, against schema: JSONValue, at path: String) -> String? {
        let type = schema["type"]?.stringValue
        switch (type, value) {
        case ("object", .object(let fields)):
            if case .array(let required)? = schema["required"] {
                for name in required.compactMap(\.stringValue) where fields[name] == nil { return "\(path): missing required field \(name)" }
            }
            if let props = schema["properties"]?.objectValue {
                for (name, v) in fields {
                    guard let p = props[name] else { return "\(path): unknown field \(name)" }
                    if let problem = check(v, against: p, at: "\(path).\(name)") { return problem }
                }
            }
        case ("array", .array(let items)):
            if case .number(let max)? = schema["maxItems"], Double(items.count) > max { return "\(path): more than \(Int(max)) items" }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() {
                    if let problem = check(item, against: itemSchema, at: "\(path)[\(i)]") { return problem }
                }
            }
        case ("string", .string(let s)):
            if case .array(let allowed)? = schema["enum"], !allowed.compactMap(\.stringValue).contains(s) { return "\(path) \"\(s)\" not in the enum" }
            if case .number(let max)? = schema["maxLength"], Double(s.count) > max {
                return "Only \(Int(max)) characters are allowed; \(s.count) were supplied (\(path))"
            }
            if schema["format"]?.stringValue == "date-time", !s.hasSuffix("Z") || s.count != 20 { return "\(path) \"\(s)\" is not an ISO 8601 UTC time" }
        case ("integer", .number(let n)) where n.rounded() == n:
            break
        case ("boolean", .bool):
            break
        case (nil, _):
            break
        default:
            return "\(path) has the wrong type (\(value.typeDescription), schema says \(type ?? "?"))"
        }
        return nil
    }
}
