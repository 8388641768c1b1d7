import Hummingbird
import StatusSyncStore

/// The routes of `serve`: Hummingbird's router, with the plugin endpoint answered before it.
///
/// Every agent call goes to one exact path, so it skips the router's trie walk (about 2.5 µs of
/// CPU per call, with generic metadata lookups). The router still holds every route, the plugin
/// endpoint included, and answers everything else (health, metrics, 404, 405).
public struct ServeRoutes<Store: CallStore>: HTTPResponderBuilder {
    let plugin: PluginController<Store>
    let router: Router<AppRequestContext>

    public func buildResponder() -> Responder {
        Responder(plugin: plugin, router: router.buildResponder())
    }

    public struct Responder: HTTPResponder {
        let plugin: PluginController<Store>
        let router: RouterResponder<AppRequestContext>

        public func respond(to request: Request, context: AppRequestContext) async throws -> Response {
            if request.method == .post, request.uri.path == PluginController<Store>.path {
                return await plugin.execute(request)
            }
            return try await router.respond(to: request, context: context)
        }
    }
}
