/// `workflow.metadata` of the ExecuteTemplateArgs: the only workflow facts the agent sends.
public struct WorkflowRef: Sendable, Hashable, Codable {
    public var namespace: String
    public var name: String
    public var uid: String

    public init(namespace: String, name: String, uid: String) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}
