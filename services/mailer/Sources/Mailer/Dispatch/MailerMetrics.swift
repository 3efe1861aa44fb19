import CoreMetrics
import Metrics

/// The mailer's Prometheus metrics (created once, no per-message labels).
struct MailerMetrics: Sendable {
    private let dispatched = Counter(label: "mailer_dispatched_total")
    private let retried = Counter(label: "mailer_retried_total")
    private let failed = Counter(label: "mailer_failed_total")
    private let expired = Counter(label: "mailer_expired_total")
    private let queueDepth = Gauge(label: "mailer_queue_depth")
    private let oldestPendingAge = Gauge(label: "mailer_oldest_pending_age_seconds")

    func recordBatch(dispatched: Int, retried: Int, failed: Int, expired: Int) {
        if dispatched > 0 { self.dispatched.increment(by: dispatched) }
        if retried > 0 { self.retried.increment(by: retried) }
        if failed > 0 { self.failed.increment(by: failed) }
        if expired > 0 { self.expired.increment(by: expired) }
    }

    func recordBacklog(depth: Int, oldestAgeSeconds: Double) {
        self.queueDepth.record(depth)
        self.oldestPendingAge.record(oldestAgeSeconds)
    }
}
