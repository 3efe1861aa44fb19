import Bcrypt
import Common
import Foundation
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import UsersAPI

/// libxcrypt's bcrypt: standard hashes both ways, and the fair, shedding admission to its threads.
@Suite struct BcryptTests {
    /// Published OpenBSD / John the Ripper vectors: hashes made by other implementations verify.
    @Test(arguments: [
        ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
        ("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
        ("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"),
        (
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
            "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
        ),
    ])
    func publishedVectorsVerify(password: String, hash: String) {
        #expect(Bcrypt.verify(password, hash: hash))
        #expect(!Bcrypt.verify("x" + password, hash: hash))
        let b = "$2b$" + hash.dropFirst(4)
        #expect(Bcrypt.verify(password, hash: String(b)), "$2b$ is the same algorithm")
    }

    @Test func hashesAreStandardAndSalted() throws {
        let first = try Bcrypt.hash("s3cret-password", cost: 4)
        let second = try Bcrypt.hash("s3cret-password", cost: 4)
        #expect(first.hasPrefix("$2b$04$") && first.count == 60)
        #expect(first != second, "a fresh salt each time")
        #expect(Bcrypt.verify("s3cret-password", hash: first) && Bcrypt.verify("s3cret-password", hash: second))
        #expect(!Bcrypt.verify("s3cret-passwore", hash: first))
        #expect(!Bcrypt.verify("s3cret-password", hash: "not a hash"))
        #expect(!Bcrypt.verify("s3cret-password", hash: "$2b$04$short"))
        #expect(throws: BcryptError.invalidCost(3)) { try Bcrypt.hash("x", cost: 3) }
    }

    // MARK: - Admission (pure)

    @Test func checksGoBeforeQueuedHashes() {
        var queue = BcryptQueue<String>(threads: 1, maxWait: .seconds(10))
        let now = NIODeadline.now()
        #expect(queue.admit("hash-1", lane: .hash, now: now) == .queued)
        #expect(queue.admit("hash-2", lane: .hash, now: now) == .queued)
        #expect(queue.admit("verify", lane: .verify, now: now) == .queued)
        var order: [String] = []
        while case .run(let job, let lane) = queue.next(now: now) {
            order.append(job)
            _ = queue.finished(lane, after: .milliseconds(200))
        }
        #expect(order == ["verify", "hash-1", "hash-2"])
    }

    @Test func aJobThatCannotStartInTimeIsRefusedAtOnce() {
        var queue = BcryptQueue<Int>(threads: 2, maxWait: .seconds(1))
        let now = NIODeadline.now()
        // Learn the duration of a job: 200 ms.
        #expect(queue.admit(0, lane: .hash, now: now) == .queued)
        guard case .run = queue.next(now: now) else {
            Issue.record("runs")
            return
        }
        _ = queue.finished(.hash, after: .milliseconds(200))
        // Two threads: the k-th queued hash waits (k-1)/2 + 0.5 rounds of 200 ms; past 1 s is refused.
        var admitted = 0
        var refusal: TimeAmount?
        for job in 1...20 {
            switch queue.admit(job, lane: .hash, now: now) {
            case .queued: admitted += 1
            case .refused(let retryAfter): refusal = refusal ?? retryAfter
            }
        }
        #expect(admitted == 10)
        #expect(refusal.map { $0 > .seconds(1) } == true)
        // A check skips the queued hashes: it would start at once.
        #expect(queue.estimatedWait(lane: .verify) == .zero)
        #expect(queue.admit(100, lane: .verify, now: now) == .queued)
    }

    /// While checks arrive, hashes keep one thread free for them; without checks they use all.
    @Test func whileChecksArriveOneThreadIsKeptForThem() {
        var queue = BcryptQueue<String>(threads: 2, maxWait: .seconds(10), verifyReserve: .seconds(5))
        let now = NIODeadline.now()
        for job in ["h1", "h2", "h3"] { #expect(queue.admit(job, lane: .hash, now: now) == .queued) }
        guard case .run("h1", .hash) = queue.next(now: now), case .run("h2", .hash) = queue.next(now: now) else {
            Issue.record("no check seen yet: hashes use both threads")
            return
        }
        #expect(queue.finished(.hash, after: .milliseconds(200)) == false)
        #expect(queue.admit("check", lane: .verify, now: now) == .queued)
        guard case .run("check", .verify) = queue.next(now: now) else {
            Issue.record("the check starts first")
            return
        }
        _ = queue.finished(.verify, after: .milliseconds(200))
        // h2 runs; h3 must leave a thread for checks: its turn is deferred …
        guard case .deferred = queue.next(now: now) else {
            Issue.record("a second hash would take the thread kept for checks")
            return
        }
        // … and given back when h2 finishes.
        #expect(queue.finished(.hash, after: .milliseconds(200)) == true)
        guard case .run("h3", .hash) = queue.next(now: now) else {
            Issue.record("h3 runs once a hash thread is free")
            return
        }
        // Five seconds without a check: hashes may use both threads again.
        #expect(queue.hashThreads(now: now + .seconds(6)) == 2)
    }

    @Test func aJobThatWaitedPastTheBoundIsExpiredNotRun() {
        var queue = BcryptQueue<String>(threads: 1, maxWait: .milliseconds(500))
        let start = NIODeadline.now()
        #expect(queue.admit("late", lane: .hash, now: start) == .queued)
        guard case .expire("late") = queue.next(now: start + .milliseconds(501)) else {
            Issue.record("expired")
            return
        }
        #expect(queue.running == 0)
        guard case .idle = queue.next(now: start) else {
            Issue.record("empty")
            return
        }
    }

    // MARK: - Scheduler (real threads)

    /// Waits until `scheduler` holds `count` jobs waiting for a thread.
    func waitUntil(_ scheduler: BcryptScheduler, holds count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while scheduler.waiting < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(scheduler.waiting == count)
    }

    /// One thread held busy, three hashes queued, then a check: the check runs second.
    @Test func theSchedulerRunsAWaitingCheckBeforeWaitingHashes() async throws {
        let scheduler = BcryptScheduler(threads: 1, maxWait: .seconds(60))
        let order = NIOLockedValueBox<[String]>([])
        let gate = NIOLockedValueBox(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await scheduler.run(.hash) {
                    order.withLockedValue { $0.append("busy") }
                    while !gate.withLockedValue({ $0 }) { usleep(1000) }
                }
            }
            while order.withLockedValue({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
            for index in 1...3 {
                group.addTask { try await scheduler.run(.hash) { order.withLockedValue { $0.append("hash-\(index)") } } }
            }
            try await self.waitUntil(scheduler, holds: 3)
            group.addTask { try await scheduler.run(.verify) { order.withLockedValue { $0.append("verify") } } }
            try await self.waitUntil(scheduler, holds: 4)
            gate.withLockedValue { $0 = true }
            try await group.waitForAll()
        }
        let ran = order.withLockedValue { $0 }
        #expect(ran.count == 5)
        #expect(Array(ran.prefix(2)) == ["busy", "verify"], "\(ran)")
    }

    /// Behind a queue longer than the bound, a new request is answered 503 `overloaded` with
    /// Retry-After at once, without waiting for a thread.
    @Test func theSchedulerShedsLoadWithA503() async throws {
        let scheduler = BcryptScheduler(threads: 1, maxWait: .milliseconds(500))
        try await scheduler.run(.hash) { usleep(200_000) }  // learn: about 200 ms a job
        let gate = NIOLockedValueBox(false)
        let holding = NIOLockedValueBox(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await scheduler.run(.hash) {
                    holding.withLockedValue { $0 = true }
                    while !gate.withLockedValue({ $0 }) { usleep(1000) }
                }
            }
            while !holding.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(2)) }
            // Queue hashes one by one until one is refused: each waits for all before it.
            var queued = 0
            var refusal: ProblemDetails?
            for _ in 0..<20 where refusal == nil {
                let outcome = NIOLockedValueBox<ProblemDetails?>(nil)
                let started = ContinuousClock.now
                group.addTask {
                    do {
                        try await scheduler.run(.hash) {}
                    } catch let problem as ProblemDetails {
                        outcome.withLockedValue { $0 = problem }
                    }
                }
                while scheduler.waiting == queued && outcome.withLockedValue({ $0 }) == nil {
                    try await Task.sleep(for: .milliseconds(2))
                }
                if let problem = outcome.withLockedValue({ $0 }) {
                    refusal = problem
                    #expect(ContinuousClock.now - started < .seconds(1), "refused at once")
                } else {
                    queued += 1
                }
            }
            #expect(refusal?.status == .serviceUnavailable && refusal?.code == "overloaded" && refusal?.headers[.retryAfter] != nil)
            #expect((1...5).contains(queued), "\(queued) queued before the bound")
            gate.withLockedValue { $0 = true }
            try await group.waitForAll()
        }
    }
}
