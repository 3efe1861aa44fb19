import NIOCore

/// The state of one place in the pool, without I/O or clock: whether it holds a connection, is
/// connecting, or backs off after failures until a deadline. ``RedisConnectionSlot`` keeps it
/// under a lock and carries out its actions; tests drive it with deadlines of their own (a mock
/// clock).
///
/// `Connection` is the connection type, `Pending` what callers wait on while it connects.
struct RedisSlotStateMachine<Connection: AnyObject, Pending> {
    enum State {
        /// No connection; the next attempt may start at `retryAt` (after `failures` failures in a row).
        case idle(failures: Int, retryAt: NIODeadline)
        /// Connecting; callers join `pending`.
        case connecting(Pending, previousFailures: Int)
        /// An open connection.
        case connected(Connection)
        /// Shut down: nothing connects again.
        case shutDown
    }

    /// What a caller that needs the connection does.
    enum ConnectAction {
        /// Use this open connection.
        case use(Connection)
        /// Wait for the attempt under way.
        case join(Pending)
        /// Start an attempt (its `pending` is now the slot's); report its outcome.
        case start(Pending)
        /// Fail fast: the slot backs off after `failures` failures until `retryAt`.
        case backingOff(failures: Int, retryAt: NIODeadline)
        /// Fail: the pool is shut down.
        case shutDown
    }

    /// What to do with a connection that was just opened.
    enum ConnectedAction {
        /// Keep it; `recovered` failures came before (log the recovery when > 0).
        case keep(recovered: Int)
        /// Close it: the slot was shut down meanwhile.
        case close
    }

    private(set) var state: State = .idle(failures: 0, retryAt: .uptimeNanoseconds(0))

    /// A caller needs the connection at `now`; `isOpen` says whether a held connection still is,
    /// `makePending` makes what callers wait on if an attempt starts.
    mutating func connect(now: NIODeadline, isOpen: (Connection) -> Bool, makePending: () -> Pending) -> ConnectAction {
        switch self.state {
        case .connected(let connection) where isOpen(connection):
            return .use(connection)
        case .connected:
            let pending = makePending()
            self.state = .connecting(pending, previousFailures: 0)
            return .start(pending)
        case .connecting(let pending, _):
            return .join(pending)
        case .idle(let failures, let retryAt) where retryAt > now:
            return .backingOff(failures: failures, retryAt: retryAt)
        case .idle(let failures, _):
            let pending = makePending()
            self.state = .connecting(pending, previousFailures: failures)
            return .start(pending)
        case .shutDown:
            return .shutDown
        }
    }

    /// The attempt succeeded.
    mutating func connected(_ connection: Connection) -> ConnectedAction {
        guard case .connecting(_, let previousFailures) = self.state else { return .close }
        self.state = .connected(connection)
        return .keep(recovered: previousFailures)
    }

    /// The attempt failed at `now`; the slot backs off for `delay` (the caller's backoff for the
    /// returned failure count, computed with ``failuresAfterNextFailure``).
    mutating func connectFailed(now: NIODeadline, delay: Duration) {
        guard case .connecting(_, let previousFailures) = self.state else { return }
        self.state = .idle(failures: previousFailures + 1, retryAt: now + TimeAmount(delay))
    }

    /// How many failures in a row an attempt under way would make if it failed.
    var failuresAfterNextFailure: Int {
        if case .connecting(_, let previousFailures) = self.state { return previousFailures + 1 }
        return 1
    }

    /// `connection` closed: the next caller connects again at once.
    mutating func closed(_ connection: Connection) {
        if case .connected(let current) = self.state, current === connection {
            self.state = .idle(failures: 0, retryAt: .uptimeNanoseconds(0))
        }
    }

    /// Shuts the slot down; returns the connection to close, if any.
    mutating func shutdown() -> Connection? {
        defer { self.state = .shutDown }
        if case .connected(let connection) = self.state { return connection }
        return nil
    }

    /// The open connection, if `isOpen` says it still is.
    func openConnection(isOpen: (Connection) -> Bool) -> Connection? {
        if case .connected(let connection) = self.state, isOpen(connection) { return connection }
        return nil
    }
}

extension RedisSlotStateMachine: Sendable where Connection: Sendable, Pending: Sendable {}

extension RedisSlotStateMachine.State: Sendable where Connection: Sendable, Pending: Sendable {}
