import Hummingbird
import StatusSyncStore

/// `/healthz` (alive) and `/readyz` (database writable, migrations applied, not draining).
struct HealthController<Store: CallStore>: Sendable {
    let store: Store
    let state: ServerState

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(.ok, "{\"status\":\"ok\"}")
        }
        router.get("/readyz") { _, _ in
            if state.isDraining { return JSONResponse.make(.serviceUnavailable, "{\"status\":\"draining\"}") }
            guard let problem = await store.readinessProblem() else { return JSONResponse.make(.ok, "{\"status\":\"ready\"}") }
            return JSONResponse.error(.serviceUnavailable, problem)
        }
    }
}
