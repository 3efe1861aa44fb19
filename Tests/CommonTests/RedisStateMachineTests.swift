import NIOCore
import Testing

@testable import Redis

/// The connection's and the pool slot's state machines without sockets or clocks: commands are
/// numbers, time is deadlines the test makes.
@Suite struct RedisStateMachineTests {
    static func at(_ milliseconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000) }

    // MARK: the connection

    @Test func repliesCompleteCommandsInOrderAndOneTimerCoversThem() {
        var machine = RedisConnectionStateMachine<Int>()
        guard case .write(let armTimer) = machine.write(1, timeout: .seconds(5), now: Self.at(0)) else {
            Issue.record("the first command must be written")
            return
        }
        #expect(armTimer == Self.at(5000), "the first command arms the timer")
        guard case .write(nil) = machine.write(2, timeout: .seconds(1), now: Self.at(10)) else {
            Issue.record("a second command must not arm another timer")
            return
        }
        guard case .complete(1, .success(.simpleString("OK"))) = machine.received(.simpleString("OK")) else {
            Issue.record("the first reply completes the first command")
            return
        }
        // Command 2 asked for 1 s but is queued behind command 1: its deadline is raised to 5 s.
        guard case .rearm(let deadline) = machine.timerFired(now: Self.at(5000 - 1)) else {
            Issue.record("command 2 is not late before 5 s")
            return
        }
        #expect(deadline == Self.at(5000))
        guard case .complete(2, .failure(let error)) = machine.received(.error(RedisServerError(message: "WRONGTYPE x"))) else {
            Issue.record("an error reply fails only its own command")
            return
        }
        guard case .none = machine.timerFired(now: Self.at(5000)) else {
            Issue.record("with nothing in flight the timer stops")
            return
        }
        guard case .write(armTimer: Self.at(6000)) = machine.write(3, timeout: .seconds(1), now: Self.at(5000)) else {
            Issue.record("the next command arms the timer again")
            return
        }
        #expect((error as? RedisServerError)?.code == "WRONGTYPE")
        #expect(machine.failure == nil)
    }

    @Test func theTimerFailsEverythingOnlyOnceTheOldestIsLate() {
        var machine = RedisConnectionStateMachine<Int>()
        _ = machine.write(1, timeout: .seconds(1), now: Self.at(0))
        _ = machine.write(2, timeout: .seconds(3), now: Self.at(0))
        _ = machine.received(.integer(1))
        guard case .rearm(let deadline) = machine.timerFired(now: Self.at(1000)) else {
            Issue.record("command 2 is not late at 1 s")
            return
        }
        #expect(deadline == Self.at(3000))
        guard case .timeout(let action) = machine.timerFired(now: Self.at(3000)) else {
            Issue.record("command 2 is late at 3 s")
            return
        }
        #expect(action.failing == [2] && action.error == .timeout && action.close)
        guard case .fail(.timeout) = machine.write(3, timeout: .seconds(1), now: Self.at(3001)) else {
            Issue.record("a command after the timeout fails with it, unwritten")
            return
        }
        #expect(machine.closed().isEmpty)
        #expect(machine.failure == .timeout)
    }

    @Test func aReadOnlyReplyFailsItsCommandAsUnavailableAndClosesTheRest() {
        var machine = RedisConnectionStateMachine<Int>()
        for command in 1...3 { _ = machine.write(command, timeout: .seconds(5), now: Self.at(0)) }
        guard
            case .failAndClose(1, let error, let others, .connectionClosed) = machine.received(.error(RedisServerError(message: "READONLY replica")))
        else {
            Issue.record("READONLY must close the connection")
            return
        }
        let clientError = error as? RedisClientError
        #expect(clientError?.isTransient == true && clientError?.description.contains("READONLY") == true)
        #expect(others == [2, 3])
    }

    @Test func theHandshakeRepliesComeBeforeTheConnectionIsActive() {
        var machine = RedisConnectionStateMachine<Int>(handshakeSteps: 2)
        guard case .connecting(handshakeSteps: 2) = machine.state else {
            Issue.record("a new connection is connecting")
            return
        }
        machine.channelActive()
        guard case .handshaking(_, stepsLeft: 2) = machine.state else {
            Issue.record("an active channel with a handshake is handshaking")
            return
        }
        _ = machine.write(1, timeout: .seconds(2), now: Self.at(0))  // AUTH
        _ = machine.write(2, timeout: .seconds(2), now: Self.at(0))  // ROLE
        guard case .complete(1, .success) = machine.received(.simpleString("OK")) else {
            Issue.record("AUTH's reply completes AUTH")
            return
        }
        #expect(!machine.isActive)
        _ = machine.received(.array([.bulkString(ByteBuffer(string: "master"))]))
        #expect(machine.isActive)
        var plain = RedisConnectionStateMachine<Int>()
        plain.channelActive()
        #expect(plain.isActive, "without a handshake the connection is active at once")
    }

    @Test func aRefusedHandshakeStepFailsWithTheServersErrorAndClosesTheRest() {
        var machine = RedisConnectionStateMachine<Int>(handshakeSteps: 2)
        machine.channelActive()
        _ = machine.write(1, timeout: .seconds(2), now: Self.at(0))  // AUTH
        _ = machine.write(2, timeout: .seconds(2), now: Self.at(0))  // SELECT
        guard
            case .failAndClose(1, let error, let others, .connectionClosed) = machine.received(.error(RedisServerError(message: "WRONGPASS invalid")))
        else {
            Issue.record("a refused AUTH closes the connection")
            return
        }
        #expect((error as? RedisServerError)?.code == "WRONGPASS", "the caller sees the server's own error")
        #expect(others == [2])
        #expect(machine.failure?.description.contains("WRONGPASS") == true)
        guard case .fail = machine.write(3, timeout: .seconds(1), now: Self.at(1)) else {
            Issue.record("nothing is written after a refused handshake")
            return
        }
    }

    @Test func aReplyNobodyAskedForIsAProtocolViolation() {
        var machine = RedisConnectionStateMachine<Int>()
        guard case .protocolViolation(let failing, let error) = machine.received(.simpleString("PONG")) else {
            Issue.record("an unasked reply must close the connection")
            return
        }
        #expect(failing.isEmpty && !error.isTransient)
    }

    @Test func aFailureIsTheReasonForWhatComesAfter() {
        var machine = RedisConnectionStateMachine<Int>()
        _ = machine.write(1, timeout: .seconds(5), now: Self.at(0))
        let handshake = RedisClientError.unavailable("TLS handshake failed: CERTIFICATE_VERIFY_FAILED")
        let action = machine.failed(handshake)
        #expect(action.failing == [1] && action.close)
        #expect(!machine.failed(.connectionClosed).close, "a second failure closes nothing again")
        guard case .fail(handshake) = machine.write(2, timeout: .seconds(5), now: Self.at(1)) else {
            Issue.record("a later command fails with the first reason")
            return
        }
        guard case .protocolViolation(let failing, handshake) = machine.received(.simpleString("late")) else {
            Issue.record("late bytes on the failed connection keep its first reason")
            return
        }
        #expect(failing.isEmpty)
        #expect(machine.closed().isEmpty)
        #expect(machine.failure == handshake)
    }

    @Test func aClosedChannelFailsWhatIsInFlight() {
        var machine = RedisConnectionStateMachine<Int>()
        _ = machine.write(1, timeout: .seconds(5), now: Self.at(0))
        _ = machine.write(2, timeout: .seconds(5), now: Self.at(0))
        #expect(machine.closed() == [1, 2])
        #expect(machine.failure == .connectionClosed)
    }

    // MARK: the pool slot

    final class Connection {
        var open = true
    }

    @Test func aSlotConnectsOnceForConcurrentCallersAndBacksOffAfterFailures() {
        var slot = RedisSlotStateMachine<Connection, String>()
        guard case .start("attempt 1") = slot.connect(now: Self.at(0), isOpen: \.open, makePending: { "attempt 1" }) else {
            Issue.record("an idle slot starts connecting")
            return
        }
        guard case .join("attempt 1") = slot.connect(now: Self.at(1), isOpen: \.open, makePending: { "never" }) else {
            Issue.record("a second caller joins the attempt under way")
            return
        }
        #expect(slot.failuresAfterNextFailure == 1)
        slot.connectFailed(now: Self.at(10), delay: .milliseconds(50))
        guard case .backingOff(1, Self.at(60)) = slot.connect(now: Self.at(59), isOpen: \.open, makePending: { "never" }) else {
            Issue.record("callers fail fast until the backoff ends")
            return
        }
        guard case .start("attempt 2") = slot.connect(now: Self.at(60), isOpen: \.open, makePending: { "attempt 2" }) else {
            Issue.record("after the backoff, the next caller connects")
            return
        }
        #expect(slot.failuresAfterNextFailure == 2)
        slot.connectFailed(now: Self.at(70), delay: .milliseconds(100))
        _ = slot.connect(now: Self.at(170), isOpen: \.open, makePending: { "attempt 3" })
        let connection = Connection()
        guard case .keep(recovered: 2) = slot.connected(connection) else {
            Issue.record("a connection after two failures is kept, and the recovery reported")
            return
        }
        guard case .use(let used) = slot.connect(now: Self.at(171), isOpen: \.open, makePending: { "never" }) else {
            Issue.record("an open connection is used")
            return
        }
        #expect(used === connection)
    }

    @Test func aClosedConnectionIsReplacedAtOnceAndShutdownIsFinal() {
        var slot = RedisSlotStateMachine<Connection, String>()
        _ = slot.connect(now: Self.at(0), isOpen: \.open, makePending: { "attempt" })
        let connection = Connection()
        _ = slot.connected(connection)
        connection.open = false
        guard case .start = slot.connect(now: Self.at(1), isOpen: \.open, makePending: { "replacement" }) else {
            Issue.record("a connection that is no longer open is replaced without backoff")
            return
        }
        let replacement = Connection()
        _ = slot.connected(replacement)
        slot.closed(connection)  // the old one's close arrives late: the replacement stays
        #expect(slot.openConnection(isOpen: \.open) === replacement)
        #expect(slot.shutdown() === replacement)
        guard case .shutDown = slot.connect(now: Self.at(2), isOpen: \.open, makePending: { "never" }) else {
            Issue.record("a shut-down slot never connects again")
            return
        }
        guard case .close = slot.connected(Connection()) else {
            Issue.record("a connection that opens after the shutdown is closed")
            return
        }
    }
}
