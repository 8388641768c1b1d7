import Foundation
import StatusSyncCore
import StatusSyncProviders
import StatusSyncStore

/// Builds plugin calls the way the Argo agent sends them.
enum CallFactory {
    static let workflow = WorkflowRef(namespace: "ci", name: "ci-build-x7k2p", uid: "4f9c2b7e-3a1d-4e8b-9c6f-2d7a1b0e5c93")
    static let sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    static let rules = PluginBodyRules(providers: [.init(name: "github", traits: GitHubProvider.traits)], argoBaseURL: "https://argo.example.com")

    /// The ExecuteTemplateArgs JSON the agent would POST for this plugin body.
    static func argsJSON(_ body: [String: String], key pluginKey: String = "statussync", workflow: WorkflowRef = workflow, template: String = "report-status") -> Data {
        let plugin = JSONValue.object(body.mapValues(JSONValue.string))
        let args: JSONValue = .object([
            "workflow": .object(["metadata": .object(["name": .string(workflow.name), "namespace": .string(workflow.namespace), "uid": .string(workflow.uid)])]),
            "template": .object(["name": .string(template), "inputs": .object([:]), "outputs": .object([:]), "metadata": .object([:]),
                                 "plugin": .object([pluginKey: plugin])]),
        ])
        return Data(args.canonicalText.utf8)
    }

    /// A decoded and validated call, as the HTTP layer hands it to the store.
    static func call(_ body: [String: String], workflow: WorkflowRef = workflow, template: String = "report-status",
                     at: Date = Date(), rules: PluginBodyRules = rules, tenant: String? = nil) -> IncomingCall {
        let data = argsJSON(body, workflow: workflow, template: template)
        let args = try! ExecuteTemplateArgs.parse(data)
        return IncomingCall(args: args, argsText: String(decoding: data, as: UTF8.self), pluginKey: "statussync", body: args.plugin["statussync"]!,
                            rules: rules, tenant: tenant, receivedAt: at)
    }

    static func status(_ state: String, context: String = "ci/argo", sha: String = sha, description: String? = nil, extra: [String: String] = [:]) -> [String: String] {
        var body = ["repo": "my-org/app", "sha": sha, "state": state, "context": context]
        if let description { body["description"] = description }
        return body.merging(extra) { _, new in new }
    }
}

extension SQLiteStore {
    /// A store on a fresh database file in `dir`.
    static func temporary(in dir: TempDirectory, now: @escaping @Sendable () -> Date = { Date() }) throws -> SQLiteStore {
        SQLiteStore(database: try AppDatabase.openForWriting(path: dir.path("statussync.sqlite"), busyTimeout: 2), now: now)
    }
}
