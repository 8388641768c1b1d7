import Hummingbird
import Metrics
import NIOCore
import Prometheus

/// `GET /metrics`: Prometheus text. The backlog gauge is measured at scrape time.
struct MetricsController: Sendable {
    let registry: PrometheusCollectorRegistry
    let backlogCount: (@Sendable () async -> Int?)?

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/metrics") { _, _ in
            if let backlogCount, let n = await backlogCount() {
                Gauge(label: "statussync_backlog").record(n)
            }
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
