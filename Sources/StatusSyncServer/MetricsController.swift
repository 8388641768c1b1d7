import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: Prometheus text. The backlog gauges are measured at scrape time.
struct MetricsController: Sendable {
    let registry: PrometheusCollectorRegistry
    let beforeScrape: (@Sendable () async -> Void)?

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/metrics") { _, _ in
            await beforeScrape?()
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
