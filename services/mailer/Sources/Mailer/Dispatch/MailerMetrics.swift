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
    private let streamLength = Gauge(label: "mailer_stream_length")
    private let streamLag = Gauge(label: "mailer_stream_lag")
    private let streamPending = Gauge(label: "mailer_stream_pending")
    private let deadLetters = Gauge(label: "mailer_dead_letters")
    private let backpressured = Gauge(label: "mailer_backpressured")
    private let backpressurePauses = Counter(label: "mailer_backpressure_pauses_total")

    func recordBatch(dispatched: Int, retried: Int, failed: Int, expired: Int) {
        if dispatched > 0 { self.dispatched.increment(by: dispatched) }
        if retried > 0 { self.retried.increment(by: retried) }
        if failed > 0 { self.failed.increment(by: failed) }
        if expired > 0 { self.expired.increment(by: expired) }
    }

    /// The stream as the consumers see it: entries held, not yet delivered (lag, summed over
    /// groups), delivered but unacknowledged (pending), and dead letters.
    func recordStream(length: Int, lag: Int, pending: Int, deadLetters: Int) {
        self.streamLength.record(length)
        self.streamLag.record(lag)
        self.streamPending.record(pending)
        self.deadLetters.record(deadLetters)
    }

    /// Whether publishing is paused because the stream's backlog reached its bound.
    func recordBackpressure(_ paused: Bool) {
        self.backpressured.record(paused ? 1 : 0)
        if paused { self.backpressurePauses.increment() }
    }

    func recordBacklog(depth: Int, oldestAgeSeconds: Double) {
        self.queueDepth.record(depth)
        self.oldestPendingAge.record(oldestAgeSeconds)
    }
}
