import Hummingbird
import Metrics
import Prometheus

/// Process-wide metrics set-up, called once by each executable's `main`.
public enum MetricsSetup {
    /// Bootstraps swift-metrics with a Prometheus registry and returns it for the `/metrics` route.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}

extension Router where Context == RegistrarRequestContext {
    /// Adds `GET /metrics` in the Prometheus text format (internal: the edge does not route it).
    public func addMetricsRoute(registry: PrometheusCollectorRegistry) {
        self.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}
