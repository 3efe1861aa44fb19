/// Exponential backoff with jitter: `base · 2^(attempt-1)`, capped, ±20 % random.
public struct Backoff: Sendable, Equatable {
    /// The first delay.
    public var base: Duration
    /// The largest delay.
    public var cap: Duration

    /// Creates a policy.
    public init(base: Duration = .milliseconds(50), cap: Duration = .seconds(2)) {
        self.base = base
        self.cap = cap
    }

    /// The delay before retry number `attempt` (1-based).
    public func delay(attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let raw = self.base * (1 << exponent)
        let capped = raw > self.cap ? self.cap : raw
        return capped * Double.random(in: 0.8...1.2)
    }
}
