import CoreMetrics
import Metrics

/// The SMTP mock's Prometheus metrics.
struct SMTPMockMetrics: Sendable {
    private let delivered = Counter(label: "smtp_mock_delivered_total")
    private let duplicates = Counter(label: "smtp_mock_duplicates_total")
    private let injectedFailures = Counter(label: "smtp_mock_injected_failures_total")
    private let deadLettered = Counter(label: "smtp_mock_dead_lettered_total")

    func recordDelivery(new: Bool) { (new ? self.delivered : self.duplicates).increment() }
    func recordInjectedFailure() { self.injectedFailures.increment() }
    func recordDeadLetter() { self.deadLettered.increment() }
}
