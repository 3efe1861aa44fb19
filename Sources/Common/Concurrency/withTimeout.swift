import NIOConcurrencyHelpers

/// Thrown by ``withTimeout(_:operation:)`` when the operation did not finish in time.
public struct TimeoutError: Error, Sendable, CustomStringConvertible {
    /// The limit that was exceeded.
    public let timeout: Duration

    /// Creates the error for `timeout`.
    public init(timeout: Duration) {
        self.timeout = timeout
    }

    public var description: String { "operation timed out after \(self.timeout)" }
}

/// Runs `operation`, throwing ``TimeoutError`` if it takes longer than `timeout`.
///
/// The answer comes at the deadline even if `operation` ignores cancellation or never finishes
/// (postgres-nio 1.33 can leave a query on a connection that died unanswered forever): the
/// operation runs in a task of its own, which is cancelled and left behind, rather than in a
/// child task that the caller would have to wait for.
public func withTimeout<Value: Sendable>(
    _ timeout: Duration,
    operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let answer = FirstAnswer<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            answer.wait(continuation)
            let work = Task {
                do {
                    answer.resume(with: .success(try await operation()))
                } catch {
                    answer.resume(with: .failure(error))
                }
            }
            let timer = Task {
                try await Task.sleep(for: timeout)
                if answer.resume(with: .failure(TimeoutError(timeout: timeout))) { work.cancel() }
            }
            answer.onResume { timer.cancel() }
        }
    } onCancel: {
        answer.resume(with: .failure(CancellationError()))
    }
}

/// The first of several racing outcomes, delivered once to a waiting continuation (later ones
/// are dropped). For races whose losers cannot be awaited (see ``withTimeout(_:operation:)``).
public final class FirstAnswer<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var early: Result<Value, any Error>?
        var done = false
        var onResume: [@Sendable () -> Void] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Creates an empty race.
    public init() {}

    /// Sets the continuation to deliver to (an outcome that came first is delivered at once).
    public func wait(_ continuation: CheckedContinuation<Value, any Error>) {
        let early: Result<Value, any Error>? = self.state.withLockedValue { state in
            if let early = state.early {
                state.early = nil
                return early
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Runs `action` once the race is decided (at once if it is).
    public func onResume(_ action: @escaping @Sendable () -> Void) {
        let decided = self.state.withLockedValue { state -> Bool in
            if state.done { return true }
            state.onResume.append(action)
            return false
        }
        if decided { action() }
    }

    /// Delivers `result` if nothing was delivered before; returns whether it was.
    @discardableResult
    public func resume(with result: Result<Value, any Error>) -> Bool {
        let (continuation, actions, won): (CheckedContinuation<Value, any Error>?, [@Sendable () -> Void], Bool) =
            self.state.withLockedValue { state in
                guard !state.done else { return (nil, [], false) }
                state.done = true
                let actions = state.onResume
                state.onResume = []
                if let continuation = state.continuation {
                    state.continuation = nil
                    return (continuation, actions, true)
                }
                state.early = result
                return (nil, actions, true)
            }
        continuation?.resume(with: result)
        for action in actions { action() }
        return won
    }
}
