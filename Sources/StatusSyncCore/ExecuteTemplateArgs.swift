import Foundation

/// Argo's `ExecuteTemplateArgs`, reduced to what statussync reads. Decoding is lenient: unknown
/// fields anywhere are ignored, and missing metadata fields (Argo before v3.4.2) are empty.
public struct ExecuteTemplateArgs: Sendable {
    public var workflow: WorkflowRef
    public var templateName: String
    /// `template.plugin`: normally exactly one key, the plugin the template is addressed to.
    public var plugin: [String: JSONValue]

    public init(workflow: WorkflowRef, templateName: String, plugin: [String: JSONValue]) {
        self.workflow = workflow
        self.templateName = templateName
        self.plugin = plugin
    }

    /// The first of `keys` the template is addressed to, with its plugin body.
    public func claimedPlugin(keys: [String]) -> (key: String, body: JSONValue)? {
        for key in keys { if let body = plugin[key] { return (key, body) } }
        return nil
    }

    /// The parts of the body statussync reads. The agent sends the whole template (inputs, outputs,
    /// metadata, …); the rest is checked as JSON but not built.
    static let shape = JSONShape.fields([
        "workflow": .fields(["metadata": .fields(["namespace": .all, "name": .all, "uid": .all])]),
        "template": .fields(["name": .all, "plugin": .all]),
    ])

    /// Parses a request body. A body that is not a JSON object with `workflow` and `template`
    /// objects is an `ArgsError` (HTTP 400; nothing recorded).
    public static func parse(_ data: Data) throws(ArgsError) -> ExecuteTemplateArgs {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data, shape: shape)
        } catch {
            throw ArgsError("request body is not valid JSON (\(error.reason)); send Argo's ExecuteTemplateArgs: {\"workflow\":{\"metadata\":{…}},\"template\":{…}}")
        }
        guard case .object = root else {
            throw ArgsError("request body is \(root.typeDescription), not a JSON object; send Argo's ExecuteTemplateArgs: {\"workflow\":{…},\"template\":{…}}")
        }
        guard case .object(let workflow)? = root["workflow"] else {
            throw ArgsError("request body has no \"workflow\" object; send Argo's ExecuteTemplateArgs: {\"workflow\":{\"metadata\":{…}},\"template\":{…}}")
        }
        guard case .object(let template)? = root["template"] else {
            throw ArgsError("request body has no \"template\" object; send Argo's ExecuteTemplateArgs: {\"workflow\":{…},\"template\":{…}}")
        }
        let metadata = workflow["metadata"]?.objectValue ?? [:]
        let ref = WorkflowRef(
            namespace: try metadataText(metadata, "namespace"),
            name: try metadataText(metadata, "name"),
            uid: try metadataText(metadata, "uid")
        )
        let templateName = template["name"]?.stringValue ?? ""
        if templateName.utf8.contains(0) {
            throw ArgsError("template.name contains a NUL character (\\u0000); Argo never sends one, so the body was not written by the agent")
        }
        return ExecuteTemplateArgs(
            workflow: ref,
            templateName: templateName,
            plugin: template["plugin"]?.objectValue ?? [:]
        )
    }
}

/// `workflow.metadata.<field>`: a string without NUL, or "" when absent (Argo before v3.4.2 sends
/// no uid). A number, an object or a NUL would be stored as something other than what was sent.
private func metadataText(_ metadata: [String: JSONValue], _ field: String) throws(ArgsError) -> String {
    switch metadata[field] {
    case nil, .null?:
        return ""
    case .string(let text)?:
        guard !text.utf8.contains(0) else {
            throw ArgsError("workflow.metadata.\(field) contains a NUL character (\\u0000); send the workflow's \(field) as Argo writes it")
        }
        return text
    case let other?:
        throw ArgsError("workflow.metadata.\(field) is \(other.typeDescription), not a string; send the workflow's \(field) as Argo writes it")
    }
}

/// The request body is not an ExecuteTemplateArgs object (HTTP 400).
public struct ArgsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
