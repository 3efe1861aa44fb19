import NIOConcurrencyHelpers

/// One message waiting for a connection, and where its outcome goes (once: a second outcome,
/// which no path should produce, is dropped rather than resuming the caller twice).
struct SMTPJob: Sendable {
    let mail: OutgoingMail
    /// A transaction for it may not start after this.
    let deadline: ContinuousClock.Instant
    private let continuation: NIOLockedValueBox<CheckedContinuation<DeliveryOutcome, Never>?>

    init(mail: OutgoingMail, deadline: ContinuousClock.Instant, continuation: CheckedContinuation<DeliveryOutcome, Never>) {
        self.mail = mail
        self.deadline = deadline
        self.continuation = NIOLockedValueBox(continuation)
    }

    /// Past its deadline: deferred unsent.
    var expired: Bool { ContinuousClock.now > self.deadline }

    func finish(_ outcome: DeliveryOutcome) {
        let continuation = self.continuation.withLockedValue { stored in
            defer { stored = nil }
            return stored
        }
        continuation?.resume(returning: outcome)
    }
}

/// Messages waiting for one of the transport's connections: first in, first out, any number of
/// consumers (one per connection). After ``finish()`` new messages are deferred at once and
/// waiting consumers get nil.
final class SMTPJobQueue: Sendable {
    private struct State {
        var jobs: [SMTPJob] = []
        var head = 0
        var waiters: [CheckedContinuation<SMTPJob?, Never>] = []
        var finished = false
    }

    private let state = NIOLockedValueBox(State())

    /// Adds `job`, handing it straight to a waiting consumer if there is one.
    func enqueue(_ job: SMTPJob) {
        enum Placement {
            case queued
            case handed(CheckedContinuation<SMTPJob?, Never>)
            case refused
        }
        let placement: Placement = self.state.withLockedValue { state in
            if state.finished { return .refused }
            if !state.waiters.isEmpty { return .handed(state.waiters.removeFirst()) }
            state.jobs.append(job)
            return .queued
        }
        switch placement {
        case .queued: break
        case .handed(let waiter): waiter.resume(returning: job)
        case .refused: job.finish(.deferred("the mailer is stopping"))
        }
    }

    /// The next job, waiting for one; nil once the queue is finished and empty.
    func next() async -> SMTPJob? {
        await withCheckedContinuation { continuation in
            let job: SMTPJob?? = self.state.withLockedValue { state in
                if state.head < state.jobs.count {
                    let job = state.jobs[state.head]
                    state.head += 1
                    if state.head == state.jobs.count {
                        state.jobs.removeAll(keepingCapacity: true)
                        state.head = 0
                    }
                    return .some(job)
                }
                if state.finished { return .some(nil) }
                state.waiters.append(continuation)
                return nil
            }
            if let job { continuation.resume(returning: job) }
        }
    }

    /// Stops taking jobs: waiting consumers get nil; jobs still queued stay for the consumers.
    func finish() {
        let waiters = self.state.withLockedValue { state in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}
