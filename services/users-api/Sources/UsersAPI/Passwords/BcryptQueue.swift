import NIOCore

/// Which queue a bcrypt job waits in. Password checks always start before queued registration
/// hashes, so a flood of registrations never delays a login by more than the hash already running.
enum BcryptLane: Sendable, Equatable {
    /// Checking a password (login, activation, resend): first.
    case verify
    /// Hashing a new password (registration): after every waiting check.
    case hash
}

/// The admission state of the bcrypt threads: two FIFO queues, the number of running jobs and the
/// average duration of a job. Pure: no threads, no clock (callers pass `now`), so every decision
/// is testable without running bcrypt.
///
/// A job is refused at once when its estimated wait exceeds `maxWait` (load shedding: answered 503
/// with `Retry-After` instead of timing out later), and dropped unrun if, when its turn comes, it
/// has waited longer than `maxWait` after all.
struct BcryptQueue<Job> {
    /// A job waiting for a thread.
    struct Waiting {
        var job: Job
        var enqueuedAt: NIODeadline
    }

    /// What ``admit(_:lane:now:)`` decided.
    enum Admission: Equatable {
        /// Queued; a thread will take it.
        case queued
        /// Refused: the estimated wait is over the bound; retry after this long.
        case refused(retryAfter: TimeAmount)
    }

    /// What a thread should do next.
    enum Next {
        /// Run this job.
        case run(Job)
        /// This job waited past `maxWait`: fail it without running it.
        case expire(Job)
        /// Nothing is waiting.
        case idle
    }

    let threads: Int
    let maxWait: TimeAmount
    private(set) var verifying = CircularBuffer<Waiting>()
    private(set) var hashing = CircularBuffer<Waiting>()
    private(set) var running = 0
    /// Exponentially weighted average duration of a job; nil until one has finished.
    private(set) var averageDuration: TimeAmount?

    init(threads: Int, maxWait: TimeAmount) {
        self.threads = max(1, threads)
        self.maxWait = maxWait
    }

    /// How long a new job in `lane` would wait for a thread, estimated from the jobs ahead of it.
    func estimatedWait(lane: BcryptLane) -> TimeAmount {
        let ahead = self.verifying.count + (lane == .hash ? self.hashing.count : 0)
        guard self.running + ahead >= self.threads, let average = self.averageDuration else { return .zero }
        // The jobs ahead drain `threads` at a time; a running job is on average half done.
        let rounds = Double(ahead) / Double(self.threads) + 0.5
        return .nanoseconds(Int64(Double(average.nanoseconds) * rounds))
    }

    /// Queues `job` in `lane`, or refuses it when it could not start within `maxWait`.
    mutating func admit(_ job: Job, lane: BcryptLane, now: NIODeadline) -> Admission {
        let wait = self.estimatedWait(lane: lane)
        if wait > self.maxWait {
            return .refused(retryAfter: wait)
        }
        let waiting = Waiting(job: job, enqueuedAt: now)
        switch lane {
        case .verify: self.verifying.append(waiting)
        case .hash: self.hashing.append(waiting)
        }
        return .queued
    }

    /// The next job for a free thread: checks first, then hashes.
    mutating func next(now: NIODeadline) -> Next {
        guard let waiting = self.verifying.popFirst() ?? self.hashing.popFirst() else { return .idle }
        if now - waiting.enqueuedAt > self.maxWait { return .expire(waiting.job) }
        self.running += 1
        return .run(waiting.job)
    }

    /// Records that a running job finished after `duration`.
    mutating func finished(after duration: TimeAmount) {
        self.running -= 1
        if let average = self.averageDuration {
            self.averageDuration = .nanoseconds((average.nanoseconds * 7 + duration.nanoseconds) / 8)
        } else {
            self.averageDuration = duration
        }
    }
}

extension BcryptQueue: Sendable where Job: Sendable {}
extension BcryptQueue.Waiting: Sendable where Job: Sendable {}
