import Common
import Testing

/// SMTP replies (RFC 5321 §4.2) as the mailer reads them from a relay: one line or several
/// (`250-…` then `250 …`), and lines that are not replies refused rather than guessed at.
@Suite struct SMTPReplyTests {
    /// Feeds `lines` to a fresh parser; the replies completed, in order.
    func parse(_ lines: [String]) throws -> [SMTPReply] {
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        for line in lines {
            if let reply = try parser.consume(line: line[...]) { replies.append(reply) }
        }
        return replies
    }

    @Test func aOneLineReplyIsCompleteAtOnce() throws {
        var parser = SMTPReplyParser()
        let reply = try #require(try parser.consume(line: "250 2.0.0 OK"))
        #expect(reply.code == 250)
        #expect(reply.lines == ["2.0.0 OK"])
    }

    @Test func aMultiLineReplyEndsAtTheLineWithASpace() throws {
        var parser = SMTPReplyParser()
        #expect(try parser.consume(line: "250-relay.example.com") == nil)
        #expect(try parser.consume(line: "250-PIPELINING") == nil)
        #expect(try parser.consume(line: "250-SIZE 10240000") == nil)
        let reply = try #require(try parser.consume(line: "250 AUTH PLAIN LOGIN"))
        #expect(reply == SMTPReply(code: 250, lines: ["relay.example.com", "PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN"]))
        // The parser starts over for the next reply.
        #expect(try parser.consume(line: "354 go ahead") == SMTPReply(354, "go ahead"))
    }

    @Test func aBareCodeIsAReplyWithEmptyText() throws {
        #expect(try self.parse(["334"]) == [SMTPReply(code: 334, lines: [""])])
        #expect(try self.parse(["250-"]).isEmpty)
        #expect(try self.parse(["250-", "250"]) == [SMTPReply(code: 250, lines: ["", ""])])
    }

    @Test func textKeepsItsBytesAsUTF8() throws {
        #expect(try self.parse(["550 5.1.1 adresse inconnue: é"]) == [SMTPReply(550, "5.1.1 adresse inconnue: é")])
    }

    @Test(arguments: [
        "", "2", "25", "abc", "25x OK", "2500OK", "250xOK", "250\tOK", "199 below the range", "600 above the range", "099 zero",
        " 250 OK", "+50 OK", "-50 OK",
    ])
    func aLineThatIsNotAReplyIsMalformed(line: String) {
        var parser = SMTPReplyParser()
        #expect(throws: SMTPReplyParser.Malformed.self) { try parser.consume(line: line[...]) }
    }

    @Test func theCodeCannotChangeInsideAReply() throws {
        var parser = SMTPReplyParser()
        #expect(try parser.consume(line: "250-first") == nil)
        #expect(throws: SMTPReplyParser.Malformed.self) { try parser.consume(line: "550 second") }
    }

    @Test func aLineOverTheLimitIsMalformed() throws {
        let longest = "250 " + String(repeating: "a", count: SMTPReplyParser.maximumLineLength - 4)
        #expect(try self.parse([longest]).first?.lines.first?.utf8.count == SMTPReplyParser.maximumLineLength - 4)
        var parser = SMTPReplyParser()
        #expect(throws: SMTPReplyParser.Malformed.self) { try parser.consume(line: (longest + "a")[...]) }
    }

    @Test func aReplyOverTheLineLimitIsMalformed() throws {
        var parser = SMTPReplyParser()
        for _ in 1..<SMTPReplyParser.maximumLines { #expect(try parser.consume(line: "250-line") == nil) }
        // The hundredth line is still accepted, as the last line of the reply…
        #expect(try parser.consume(line: "250 last")?.lines.count == SMTPReplyParser.maximumLines)
        // …but a reply that goes on beyond it is refused, not kept growing.
        for _ in 0..<SMTPReplyParser.maximumLines { _ = try parser.consume(line: "250-line") }
        #expect(throws: SMTPReplyParser.Malformed.self) { try parser.consume(line: "250-one too many") }
    }

    @Test func theWireFormRoundTripsThroughTheParser() throws {
        let replies = [
            SMTPReply(250, "relay", "PIPELINING", "8BITMIME"), SMTPReply(354, "End data"), SMTPReply(221), SMTPReply(code: 550, lines: []),
        ]
        #expect(SMTPReply(250, "a", "b").wire == "250-a\r\n250 b\r\n")
        #expect(SMTPReply(221).wire == "221 \r\n")
        let wire = replies.map(\.wire).joined()
        #expect(wire.hasSuffix("\r\n"))
        let lines = wire.split(separator: "\r\n").map(String.init)
        #expect(try self.parse(lines) == replies)
    }

    @Test func controlCharactersNeverReachTheWire() {
        // Reply text may echo what a client sent: it must not end the line or start a new reply.
        #expect(SMTPReply(555, "bad \r\n250 forged\u{0}\u{7F}\t", "é").wire == "555-bad   250 forged   \r\n555 é\r\n")
    }

    @Test func theClassOfAReplyFollowsItsFirstDigit() {
        let classes = [220, 250, 334, 354, 421, 451, 535, 554].map { code -> String in
            let reply = SMTPReply(code)
            return [reply.isPositive, reply.isIntermediate, reply.isTransient, reply.isPermanent].map { $0 ? "1" : "0" }.joined()
        }
        #expect(classes == ["1000", "1000", "0100", "0100", "0010", "0010", "0001", "0001"])
        #expect(SMTPReply(250, "first", "second").description == "250 first / second")
    }
}
