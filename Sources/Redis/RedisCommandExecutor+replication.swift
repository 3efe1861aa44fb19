extension RedisCommandExecutor {
    /// `ROLE`: `master` with the number of replicas attached to it, or `slave`/`sentinel` with 0.
    public func role() async throws -> (role: String, replicas: Int) {
        let reply = try await self.send(RedisCommand("ROLE"))
        guard let parts = reply.array, let role = parts.first?.string else {
            throw RedisClientError.unexpectedReply("ROLE → \(reply)")
        }
        let replicas = role == "master" && parts.count >= 3 ? (parts[2].array?.count ?? 0) : 0
        return (role, replicas)
    }

    /// `WAIT replicas timeout`: blocks until `replicas` replicas acknowledged every write sent
    /// before it on this connection, or `timeout` passed; how many did. Send it on the same
    /// connection as the writes (``RedisClient/withConnection(_:)``).
    public func wait(replicas: Int, timeout: Duration) async throws -> Int {
        let reply = try await self.send(
            RedisCommand("WAIT", [replicas, max(1, timeout.wholeMilliseconds)], blockTimeout: timeout)
        )
        guard let acknowledged = reply.int else { throw RedisClientError.unexpectedReply("WAIT → \(reply)") }
        return acknowledged
    }
}
