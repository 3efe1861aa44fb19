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
/// Checks go first; and while checks are arriving (one in the last `verifyReserve`), hashes use at
/// most all threads but one, so a check never waits for a hash to finish: logins keep their idle
/// latency under a registration flood, and registrations alone still use every thread.
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
        /// Run this job of `lane`.
        case run(Job, BcryptLane)
        /// This job waited past `maxWait`: fail it without running it.
        case expire(Job)
        /// Nothing is waiting.
        case idle
        /// Hashes wait, but their threads are all busy (one is kept for checks): this turn is
        /// given back when a running job finishes.
        case deferred
    }

    let threads: Int
    let maxWait: TimeAmount
    /// How long after a check one thread stays kept for checks.
    let verifyReserve: TimeAmount
    private(set) var verifying = CircularBuffer<Waiting>()
    private(set) var hashing = CircularBuffer<Waiting>()
    private(set) var running = 0
    private(set) var runningHashes = 0
    /// Turns given back by ``next(now:)`` (`.deferred`), owed to the queued hashes.
    private(set) var deferred = 0
    private(set) var lastCheck: NIODeadline?
    /// Exponentially weighted average duration of a job; nil until one has finished.
    private(set) var averageDuration: TimeAmount?

    init(threads: Int, maxWait: TimeAmount, verifyReserve: TimeAmount = .seconds(5)) {
        self.threads = max(1, threads)
        self.maxWait = maxWait
        self.verifyReserve = verifyReserve
    }

    /// Threads hashes may use now: all but one while checks are arriving (with two or more).
    func hashThreads(now: NIODeadline) -> Int {
        guard self.threads > 1, let last = self.lastCheck, now - last < self.verifyReserve else { return self.threads }
        return self.threads - 1
    }

    /// How long a new job in `lane` would wait for a thread, estimated from the jobs ahead of it.
    func estimatedWait(lane: BcryptLane, now: NIODeadline = .now()) -> TimeAmount {
        let ahead = self.verifying.count + (lane == .hash ? self.hashing.count : 0)
        let threads = lane == .hash ? self.hashThreads(now: now) : self.threads
        let busy = lane == .hash ? self.runningHashes + self.verifying.count : self.running
        guard busy + ahead >= threads, let average = self.averageDuration else { return .zero }
        // The jobs ahead drain `threads` at a time; a running job is on average half done.
        let rounds = Double(ahead) / Double(threads) + 0.5
        return .nanoseconds(Int64(Double(average.nanoseconds) * rounds))
    }

    /// Queues `job` in `lane`, or refuses it when it could not start within `maxWait`.
    mutating func admit(_ job: Job, lane: BcryptLane, now: NIODeadline) -> Admission {
        if lane == .verify { self.lastCheck = now }
        let wait = self.estimatedWait(lane: lane, now: now)
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

    /// The next job for a free thread: checks first, then hashes (within ``hashThreads(now:)``).
    mutating func next(now: NIODeadline) -> Next {
        if let waiting = self.verifying.popFirst() {
            if now - waiting.enqueuedAt > self.maxWait { return .expire(waiting.job) }
            self.running += 1
            return .run(waiting.job, .verify)
        }
        guard let head = self.hashing.first else { return .idle }
        if now - head.enqueuedAt > self.maxWait {
            self.hashing.removeFirst()
            return .expire(head.job)
        }
        guard self.runningHashes < self.hashThreads(now: now) else {
            self.deferred += 1
            return .deferred
        }
        self.hashing.removeFirst()
        self.running += 1
        self.runningHashes += 1
        return .run(head.job, .hash)
    }

    /// Records that a running job of `lane` finished after `duration`; returns whether a deferred
    /// turn should be taken again now (a thread is free).
    mutating func finished(_ lane: BcryptLane, after duration: TimeAmount) -> Bool {
        self.running -= 1
        if lane == .hash { self.runningHashes -= 1 }
        if let average = self.averageDuration {
            self.averageDuration = .nanoseconds((average.nanoseconds * 7 + duration.nanoseconds) / 8)
        } else {
            self.averageDuration = duration
        }
        guard self.deferred > 0 else { return false }
        self.deferred -= 1
        return true
    }
}

extension BcryptQueue: Sendable where Job: Sendable {}
extension BcryptQueue.Waiting: Sendable where Job: Sendable {}
