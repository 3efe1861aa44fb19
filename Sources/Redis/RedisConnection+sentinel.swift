import NIOCore

extension RedisConnection {
    /// Asks every sentinel at once for the primary's address; the first answer wins (a sentinel
    /// that is down or does not know the name is skipped). Fails with
    /// ``RedisClientError/unavailable(_:)`` when none answers, with each one's reason.
    static func primaryAddress(
        sentinel: RedisSentinel,
        configuration: RedisConfiguration,
        eventLoop: any EventLoop
    ) async throws -> RedisSentinel.Address {
        // Sentinels speak the same TLS as the data nodes; they have their own password and no database.
        var asked = configuration
        asked.sentinel = nil
        asked.username = nil
        asked.password = sentinel.password
        asked.database = 0
        let sentinelConfiguration = asked
        let query = RedisCommand("SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinel.primaryName)
        return try await withThrowingTaskGroup(of: Result<RedisSentinel.Address, SentinelFailure>.self) { group in
            for address in sentinel.sentinels {
                group.addTask {
                    let connection: RedisConnection
                    do {
                        // Once another sentinel answered, a slow one is abandoned (closed if it connects late).
                        let connecting = Self.connectFuture(
                            configuration: sentinelConfiguration,
                            host: address.host,
                            port: address.port,
                            eventLoop: eventLoop
                        )
                        let abandonable = eventLoop.makePromise(of: RedisConnection.self)
                        connecting.cascade(to: abandonable)
                        connection = try await withTaskCancellationHandler {
                            try await abandonable.futureResult.get()
                        } onCancel: {
                            abandonable.fail(CancellationError())
                            connecting.whenSuccess { $0.channel.close(promise: nil) }
                        }
                    } catch {
                        return .failure(SentinelFailure(sentinel: address, reason: "\(error)"))
                    }
                    defer { connection.channel.close(promise: nil) }
                    do {
                        let reply = try await connection.send(query)
                        guard let parts = reply.array, parts.count == 2, let host = parts[0].string, let port = parts[1].int else {
                            return .failure(SentinelFailure(sentinel: address, reason: "does not monitor '\(sentinel.primaryName)'"))
                        }
                        return .success(RedisSentinel.Address(host: host, port: port))
                    } catch {
                        return .failure(SentinelFailure(sentinel: address, reason: "\(error)"))
                    }
                }
            }
            var failures: [String] = []
            for try await result in group {
                switch result {
                case .success(let primary):
                    group.cancelAll()
                    return primary
                case .failure(let failure):
                    failures.append("\(failure.sentinel): \(failure.reason)")
                }
            }
            throw RedisClientError.unavailable("no sentinel named the primary '\(sentinel.primaryName)' (\(failures.joined(separator: "; ")))")
        }
    }
}

/// Why one sentinel gave no address.
private struct SentinelFailure: Error {
    var sentinel: RedisSentinel.Address
    var reason: String
}
