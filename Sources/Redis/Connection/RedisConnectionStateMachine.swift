import NIOCore

/// The state of one pipelined connection, without I/O: what to do when a command is written, a
/// reply arrives, the deadline timer fires, or the channel fails or closes. ``RedisChannelHandler``
/// feeds it events and carries out the actions it returns; tests drive it without a socket.
///
/// `Reply` is whatever completes a command (a promise in the handler, a number in tests).
/// Deadlines: replies come in order, so a command's deadline is never earlier than the one
/// before it (raised to it when needed) and one timer, for the oldest, is enough. The timer is
/// never cancelled when replies empty the queue (scheduling and cancelling a task per command
/// cost a fifth of `/me`'s throughput): it fires, finds nothing late, and re-arms or stops.
struct RedisConnectionStateMachine<Reply> {
    enum State {
        /// Commands in flight, oldest first, with their deadlines.
        case active(pending: CircularBuffer<(reply: Reply, deadline: NIODeadline)>, timerArmed: Bool)
        /// Failed (an error, a timeout, `-READONLY`, a protocol violation); the channel is closing.
        /// Everything written now fails with the same reason.
        case closing(RedisClientError)
        /// The channel is closed.
        case closed(RedisClientError)
        /// Only while an event is handled: the pending buffer is taken out of `state` so that
        /// appending to it does not copy it (copy-on-write sees one owner).
        case modifying
    }

    /// What to do after a write.
    enum WriteAction {
        /// Write the bytes; arm the timer at `armTimer` when set (the first command in flight).
        case write(armTimer: NIODeadline?)
        /// Fail the command at once, unwritten.
        case fail(RedisClientError)
    }

    /// What to do after a reply.
    enum ReplyAction {
        /// Complete `reply` with the value (an error reply: `.failure(serverError)`).
        case complete(Reply, Result<RESPValue, any Error>)
        /// Fail `reply` with `error`, then every other command with `others`, cancel the timer
        /// and close the channel.
        case failAndClose(Reply, RedisClientError, others: [Reply], othersError: RedisClientError)
        /// A reply nobody asked for: fail everything and close.
        case protocolViolation(failing: [Reply], RedisClientError)
    }

    /// What to do when the connection fails or times out: fail these and close the channel.
    struct FailAction {
        /// Commands to fail.
        var failing: [Reply]
        /// With this error.
        var error: RedisClientError
        /// Whether the channel must still be closed (not when it is already closing or closed).
        var close: Bool
    }

    /// What to do when the timer fires.
    enum TimerAction {
        /// The oldest command is not late yet: arm again for its deadline.
        case rearm(NIODeadline)
        /// The oldest command is late: fail everything (timeout) and close.
        case timeout(FailAction)
        /// Nothing in flight.
        case none
    }

    private(set) var state: State = .active(pending: CircularBuffer(initialCapacity: 64), timerArmed: false)

    /// A command of `timeout` is written at `now`.
    mutating func write(_ reply: Reply, timeout: Duration, now: NIODeadline) -> WriteAction {
        switch self.state {
        case .active(var pending, let timerArmed):
            self.state = .modifying
            let own = now + TimeAmount(timeout)
            let deadline = max(own, pending.last?.deadline ?? own)
            pending.append((reply, deadline))
            self.state = .active(pending: pending, timerArmed: true)
            return .write(armTimer: timerArmed ? nil : deadline)
        case .closing(let error), .closed(let error):
            return .fail(error)
        case .modifying:
            preconditionFailure("re-entrant event")
        }
    }

    /// A reply arrived (a top-level error reply is `.error`).
    mutating func received(_ value: RESPValue) -> ReplyAction {
        guard case .active(var pending, let timerArmed) = self.state, !pending.isEmpty else {
            let failing = self.drain()
            let error = RedisClientError.protocolViolation("reply without a request")
            self.state = .closing(error)
            return .protocolViolation(failing: failing, error)
        }
        self.state = .modifying
        let oldest = pending.removeFirst()
        if case .error(let error) = value, error.code == "READONLY" {
            // The server was demoted to a replica (a failover): nothing on this connection can
            // write any more; the next connection finds the new primary.
            let own = RedisClientError.unavailable("the server became a replica (\(error.message))")
            self.state = .closing(.connectionClosed)
            return .failAndClose(oldest.reply, own, others: pending.map(\.reply), othersError: .connectionClosed)
        }
        self.state = .active(pending: pending, timerArmed: timerArmed)
        let result: Result<RESPValue, any Error>
        if case .error(let error) = value { result = .failure(error) } else { result = .success(value) }
        return .complete(oldest.reply, result)
    }

    /// The timer fired at `now`.
    mutating func timerFired(now: NIODeadline) -> TimerAction {
        guard case .active(let pending, _) = self.state, let oldest = pending.first else {
            if case .active(let pending, _) = self.state { self.state = .active(pending: pending, timerArmed: false) }
            return .none
        }
        if oldest.deadline > now { return .rearm(oldest.deadline) }
        return .timeout(self.fail(.timeout))
    }

    /// The channel failed (`error` already mapped, e.g. a refused TLS handshake).
    mutating func failed(_ error: RedisClientError) -> FailAction {
        self.fail(error)
    }

    /// The channel closed.
    mutating func closed() -> [Reply] {
        let failing = self.drain()
        switch self.state {
        case .active, .modifying: self.state = .closed(.connectionClosed)
        case .closing(let error), .closed(let error): self.state = .closed(error)
        }
        return failing
    }

    /// Why the connection failed, once it has.
    var failure: RedisClientError? {
        switch self.state {
        case .active, .modifying: return nil
        case .closing(let error), .closed(let error): return error
        }
    }

    private mutating func fail(_ error: RedisClientError) -> FailAction {
        switch self.state {
        case .active(let pending, _):
            self.state = .closing(error)
            return FailAction(failing: pending.map(\.reply), error: error, close: true)
        case .closing, .closed, .modifying:
            return FailAction(failing: [], error: error, close: false)
        }
    }

    private mutating func drain() -> [Reply] {
        guard case .active(let pending, _) = self.state else { return [] }
        self.state = .active(pending: CircularBuffer(), timerArmed: false)
        return pending.map(\.reply)
    }
}
