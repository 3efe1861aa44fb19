/// Anything that runs Redis commands: the pooled ``RedisClient`` or a dedicated ``RedisConnection``.
///
/// Typed helpers (strings, scripts, streams) are extensions on this protocol, so both share them.
public protocol RedisCommandExecutor: Sendable {
    /// Sends `command` and returns its reply; error replies throw ``RedisServerError``.
    func send(_ command: RedisCommand) async throws -> RESPValue
}
