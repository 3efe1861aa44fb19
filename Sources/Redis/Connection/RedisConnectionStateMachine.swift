import NIOCore

/// The state of one pipelined connection, without I/O: connecting → handshaking (the replies to
/// AUTH, SELECT, ROLE or PING, pipelined before the connection is handed out) → active → closing →
/// closed; what to do when the channel becomes active, a command is written, a reply arrives,
/// the deadline timer fires, or the channel fails or closes. ``RedisChannelHandler``
/// feeds it events and carries out the actions it returns; tests drive it without a socket.
///
/// `Reply` is whatever completes a command (a promise in the handler, a number in tests).
/// Deadlines: replies come in order, so a command's deadline is never earlier than the one
/// before it (raised to it when needed) and one timer, for the oldest, is enough. The timer is
/// never cancelled when replies empty the queue (scheduling and cancelling a task per command
/// cost a fifth of `/me`'s throughput): it fires, finds nothing late, and re-arms or stops.
struct RedisConnectionStateMachine<Reply> {
    /// Commands in flight, oldest first, with their deadlines, and whether the timer is armed.
    struct InFlight {
        var pending = CircularBuffer<(reply: Reply, deadline: NIODeadline)>(initialCapacity: 64)
        var timerArmed = false
    }

    enum State {
        /// The channel is not active yet; `handshakeSteps` replies will make the handshake.
        case connecting(handshakeSteps: Int)
        /// The handshake's commands are in flight; `stepsLeft` of their replies are still due.
        case handshaking(InFlight, stepsLeft: Int)
        /// Open: commands in flight.
        case active(InFlight)
        /// Failed (an error, a timeout, `-READONLY`, a refused handshake, a protocol violation);
        /// the channel is closing. Everything written now fails with the same reason.
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
        /// and close the channel (`-READONLY`; a handshake step refused: `WRONGPASS` …).
        case failAndClose(Reply, any Error, others: [Reply], othersError: RedisClientError)
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

    private(set) var state: State

    /// A machine for a connection whose handshake is `handshakeSteps` commands (0: none).
    init(handshakeSteps: Int = 0) {
        self.state = .connecting(handshakeSteps: handshakeSteps)
    }

    /// The channel became active.
    mutating func channelActive() {
        if case .connecting(let steps) = self.state { self.put(InFlight(), stepsLeft: steps) }
    }

    /// Whether the handshake is over and the connection open.
    var isActive: Bool {
        if case .active = self.state { return true }
        return false
    }

    /// A command of `timeout` is written at `now`.
    mutating func write(_ reply: Reply, timeout: Duration, now: NIODeadline) -> WriteAction {
        guard case var (inFlight, stepsLeft)? = self.takeInFlight() else {
            return .fail(self.failure ?? .connectionClosed)
        }
        let own = now + TimeAmount(timeout)
        let deadline = max(own, inFlight.pending.last?.deadline ?? own)
        inFlight.pending.append((reply, deadline))
        let armTimer = inFlight.timerArmed ? nil : deadline
        inFlight.timerArmed = true
        self.put(inFlight, stepsLeft: stepsLeft)
        return .write(armTimer: armTimer)
    }

    /// A reply arrived (a top-level error reply is `.error`).
    mutating func received(_ value: RESPValue) -> ReplyAction {
        guard case var (inFlight, stepsLeft)? = self.takeInFlight() else {
            // Late bytes on a connection that already failed: its reason stays the first one.
            return .protocolViolation(failing: [], self.failure ?? .connectionClosed)
        }
        guard let oldest = inFlight.pending.popFirst() else {
            let error = RedisClientError.protocolViolation("reply without a request")
            self.state = .closing(error)
            return .protocolViolation(failing: [], error)
        }
        if case .error(let error) = value, stepsLeft > 0 {
            // A handshake step was refused (WRONGPASS, a database out of range …): the caller
            // sees the server's error; nothing else may use this connection.
            self.state = .closing(.unavailable("the handshake was refused (\(error.message))"))
            return .failAndClose(oldest.reply, error, others: inFlight.pending.map(\.reply), othersError: .connectionClosed)
        }
        if case .error(let error) = value, error.code == "READONLY" {
            // The server was demoted to a replica (a failover): nothing on this connection can
            // write any more; the next connection finds the new primary.
            let own = RedisClientError.unavailable("the server became a replica (\(error.message))")
            self.state = .closing(.connectionClosed)
            return .failAndClose(oldest.reply, own, others: inFlight.pending.map(\.reply), othersError: .connectionClosed)
        }
        stepsLeft = max(0, stepsLeft - 1)
        self.put(inFlight, stepsLeft: stepsLeft)
        let result: Result<RESPValue, any Error>
        if case .error(let error) = value { result = .failure(error) } else { result = .success(value) }
        return .complete(oldest.reply, result)
    }

    /// The timer fired at `now`.
    mutating func timerFired(now: NIODeadline) -> TimerAction {
        guard case var (inFlight, stepsLeft)? = self.takeInFlight() else { return .none }
        guard let oldest = inFlight.pending.first else {
            inFlight.timerArmed = false
            self.put(inFlight, stepsLeft: stepsLeft)
            return .none
        }
        self.put(inFlight, stepsLeft: stepsLeft)
        if oldest.deadline > now { return .rearm(oldest.deadline) }
        return .timeout(self.fail(.timeout))
    }

    /// The channel failed (`error` already mapped, e.g. a refused TLS handshake).
    mutating func failed(_ error: RedisClientError) -> FailAction {
        self.fail(error)
    }

    /// The channel closed.
    mutating func closed() -> [Reply] {
        switch self.state {
        case .closing(let error), .closed(let error):
            self.state = .closed(error)
            return []
        case .connecting, .handshaking, .active, .modifying:
            let failing = self.takeInFlight()?.inFlight.pending.map(\.reply) ?? []
            self.state = .closed(.connectionClosed)
            return failing
        }
    }

    /// Why the connection failed, once it has.
    var failure: RedisClientError? {
        switch self.state {
        case .connecting, .handshaking, .active, .modifying: return nil
        case .closing(let error), .closed(let error): return error
        }
    }

    private mutating func fail(_ error: RedisClientError) -> FailAction {
        guard case let (inFlight, _)? = self.takeInFlight() else {
            return FailAction(failing: [], error: error, close: false)
        }
        self.state = .closing(error)
        return FailAction(failing: inFlight.pending.map(\.reply), error: error, close: true)
    }

    /// Takes the in-flight commands out of `state` (left `.modifying`), or nil when the
    /// connection is not open. A write before the channel is active opens it.
    private mutating func takeInFlight() -> (inFlight: InFlight, stepsLeft: Int)? {
        switch self.state {
        case .connecting(let steps):
            self.state = .modifying
            return (InFlight(), steps)
        case .handshaking(let inFlight, let stepsLeft):
            self.state = .modifying
            return (inFlight, stepsLeft)
        case .active(let inFlight):
            self.state = .modifying
            return (inFlight, 0)
        case .closing, .closed, .modifying:
            return nil
        }
    }

    private mutating func put(_ inFlight: InFlight, stepsLeft: Int) {
        self.state = stepsLeft > 0 ? .handshaking(inFlight, stepsLeft: stepsLeft) : .active(inFlight)
    }
}
