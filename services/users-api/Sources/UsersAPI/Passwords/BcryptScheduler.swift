import Common
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The threads bcrypt runs on (never an event loop), with fair admission: password checks start
/// before queued registration hashes, one thread is kept for checks while they arrive, and a job
/// that could not start within `maxWait` is refused at once with 503 `overloaded` and
/// `Retry-After` (see ``BcryptQueue``).
///
/// A `Service`: graceful shutdown lets the threads finish what they run, and fails what waits.
final class BcryptScheduler: Service, Sendable {
    private struct Job: Sendable {
        let run: @Sendable () -> Void
        let refuse: @Sendable (TimeAmount) -> Void
    }

    private let pool: NIOThreadPool
    private let queue: NIOLockedValueBox<BcryptQueue<Job>>

    /// Starts `threads` threads; jobs wait at most `maxWait` for one.
    init(threads: Int, maxWait: Duration) {
        self.pool = NIOThreadPool(numberOfThreads: max(1, threads))
        self.queue = NIOLockedValueBox(BcryptQueue(threads: threads, maxWait: .init(maxWait)))
        self.pool.start()
    }

    /// Jobs admitted and not yet started (for tests).
    var waiting: Int { self.queue.withLockedValue { $0.verifying.count + $0.hashing.count } }

    func run() async throws {
        try? await gracefulShutdown()
        try await self.pool.shutdownGracefully()
    }

    /// Runs `work` on a bcrypt thread, in `lane`'s turn; throws 503 `overloaded` when it could not
    /// start in time.
    func run<Value: Sendable>(_ lane: BcryptLane, _ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let job = Job(
                run: { continuation.resume(with: Result { try work() }) },
                refuse: { retryAfter in continuation.resume(throwing: ProblemDetails.overloaded(retryAfter: .init(retryAfter))) }
            )
            switch self.queue.withLockedValue({ $0.admit(job, lane: lane, now: .now()) }) {
            case .queued:
                self.pool.submit { state in self.takeNext(state) }
            case .refused(let retryAfter):
                job.refuse(retryAfter)
            }
        }
    }

    /// One thread turn: every admitted job submits one, and each turn settles exactly one job
    /// (the most urgent, not necessarily the one that submitted it).
    private func takeNext(_ state: NIOThreadPool.WorkItemState) {
        let maxWait = self.queue.withLockedValue { $0.maxWait }
        switch self.queue.withLockedValue({ $0.next(now: .now()) }) {
        case .idle, .deferred:
            return
        case .expire(let job):
            job.refuse(maxWait)
            // The turn goes on to the next job: a turn deferred earlier may be owed to it, and no
            // running hash may be left to give that turn back.
            self.takeNext(state)
        case .run(let job, let lane):
            let started = NIODeadline.now()
            if state == .active { job.run() } else { job.refuse(maxWait) }
            if self.queue.withLockedValue({ $0.finished(lane, after: .now() - started) }) {
                self.pool.submit { state in self.takeNext(state) }
            }
        }
    }
}

extension ProblemDetails {
    /// 503 `overloaded`: the password threads are saturated; nothing was done, retry later.
    static func overloaded(retryAfter: Duration) -> ProblemDetails {
        var problem = ProblemDetails.unavailable(
            "The server is busy checking passwords; nothing was done. Retry shortly.",
            retryAfter: max(1, Int((Double(retryAfter.wholeMilliseconds) / 1000).rounded(.up)))
        )
        problem.code = "overloaded"
        problem.title = "Server busy"
        return problem
    }
}
