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

/// Runs `operation`, cancelling it and throwing ``TimeoutError`` if it takes longer than `timeout`.
public func withTimeout<Value: Sendable>(
    _ timeout: Duration,
    operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    try await withThrowingTaskGroup(of: Value.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimeoutError(timeout: timeout)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
