import Foundation
import Logging
import Testing

@testable import Common

/// The Foundation-free text helpers that replace `trimmingCharacters`, `JSONSerialization` and
/// `FileHandle` in Common (so auth-api and the SMTP mock never load full Foundation).
@Suite struct TextTests {
    @Test(arguments: [
        ("  me@example.com \n", "me@example.com"), ("\t\u{00A0}a b\u{2003}", "a b"), ("   ", ""), ("", ""), ("x", "x"),
    ])
    func trimmingWhitespace(raw: String, trimmed: String) {
        #expect(String(raw.trimmingWhitespace()) == trimmed)
        #expect(String(raw.trimmingWhitespace()) == raw.trimmingCharacters(in: .whitespacesAndNewlines), "same as Foundation")
    }

    @Test func logLinesAreOneJSONObjectWithSortedKeys() throws {
        let hostile = "quote \" backslash \\ newline \n tab \t bell \u{07} del \u{7F} é /path"
        let line = JSONLogHandler.render(
            timestamp: Date(timeIntervalSince1970: 1_795_600_800.25),
            level: .warning,
            label: "auth-api",
            message: hostile,
            metadata: ["request.id": "abc", "a.list": .array(["x", .stringConvertible(42)]), "z.map": .dictionary(["k": "v"])]
        )
        #expect(line.hasSuffix("}\n") && line.dropLast().firstIndex(of: "\n") == nil, "one line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["msg"] as? String == hostile, "every character survives the escaping")
        #expect(object["ts"] as? String == "2026-11-25T10:00:00.250Z")
        #expect(object["level"] as? String == "warning" && object["logger"] as? String == "auth-api")
        #expect(object["a.list"] as? [String] == ["x", "42"])
        #expect((object["z.map"] as? [String: String]) == ["k": "v"])
        let keys = ["a.list", "level", "logger", "msg", "request.id", "ts", "z.map"]
        let positions = keys.map { line.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted(), "keys in sorted order")
    }

    @Test func jsonBodiesParseWithoutJSONSerialization() throws {
        var body = try JSONBody(bytes: Data(#"{"email":"me@example.com","password":5,"code":null,"nested":{"a":[1,true]}}"#.utf8))
        #expect(body.string("email") == "me@example.com")
        #expect(body.string("password") == nil)
        #expect(body.string("code") == nil)
        #expect(body.string("missing") == nil)
        #expect(
            throws: ProblemDetails.validation([
                .init(field: "password", message: "must be a string"), .init(field: "code", message: "is required"),
                .init(field: "missing", message: "is required"),
            ])
        ) {
            try body.finish()
        }
        for malformed in ["{\"email\": ", "[1, 2]", "\"text\"", "12", "{\"a\":1}}"] {
            #expect(throws: ProblemDetails.self, "\(malformed)") { try JSONBody(bytes: Data(malformed.utf8)) }
        }
        var empty = try JSONBody(bytes: Data(" \n".utf8))
        #expect(empty.string("email") == nil)
    }
}
