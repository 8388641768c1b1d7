import Foundation
import StatusSyncCore

extension IncomingCall {
    /// A call of our plugin key as the HTTP layer records it: the body validated against `rules`
    /// (and `admit`, the caller's own rule such as a tenant's repos), the body's `key` as the
    /// idempotency key when it is a non-empty string. The server, the tests and the benchmark all
    /// build calls here, so they record the same thing.
    public convenience init(args: ExecuteTemplateArgs, argsText: String, pluginKey: String, body: JSONValue, rules: PluginBodyRules,
                            tenant: String? = nil, receivedAt: Date = Date(),
                            admit: (StatusRequest) -> PluginBodyError? = { _ in nil }) {
        let explicitKey = body["key"]?.stringValue.map(\.trimmed).flatMap { $0.isEmpty ? nil : $0 }
        var request = Result { () throws(PluginBodyError) in try StatusRequest.parse(body: body, workflow: args.workflow, rules: rules) }
        if case .success(let parsed) = request, let refusal = admit(parsed) {
            request = .failure(refusal)
        }
        self.init(receivedAt: receivedAt, workflow: args.workflow, templateName: args.templateName, pluginKey: pluginKey,
                  argsText: argsText, bodyCanonical: body.canonicalText, explicitKey: explicitKey, request: request, tenant: tenant)
    }
}
