import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import Common

/// Issue 13: what `JSONBody` accepts as JSON (content type, duplicate members) and which request
/// ids `RequestIDMiddleware` keeps (the edge's rule).
@Suite struct StrictBodyTests {
    // MARK: Content-Type

    @Test(arguments: [
        "application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8",
        "application/json ; Charset=\"utf-8\"", "application/json;", "application/json;; charset=utf-8 ;", " application/json\t",
    ])
    func jsonMediaTypes(_ value: String) {
        #expect(JSONBody.isJSONMediaType(value))
    }

    @Test(arguments: [
        ";;;", "", " ", "application/merge-patch+json", "application/problem+json", "text/json", "application/json-seq",
        "application/jsonx", "application/json; charset=latin1", "application/json; charset=utf-16", "application/json; charset",
        "application/json; charset=", "application/json; foo=bar", "application/json, text/plain", "application /json",
        "application/json; charset=\"utf-8", "application/*", "*/*", "text/plain", "application/x-www-form-urlencoded",
    ])
    func otherMediaTypes(_ value: String) {
        #expect(!JSONBody.isJSONMediaType(value))
    }

    @Test func parseRefusesAnythingButJSON() async throws {
        let router = Router.registrar()
        router.post("/echo") { request, context -> Response in
            var body = try await JSONBody.parse(request, context: context)
            let value = body.optionalString("email") ?? "-"
            try body.finish()
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: value)))
        }
        let app = Application(router: router)
        try await app.test(.router) { client in
            let json = ByteBuffer(string: #"{"email":"a@example.com"}"#)
            func post(_ contentType: String?, _ body: ByteBuffer?) async throws -> TestResponse {
                var headers = HTTPFields()
                headers[.contentType] = contentType
                return try await client.execute(uri: "/echo", method: .post, headers: headers, body: body)
            }
            for contentType in [";;;", nil, "application/merge-patch+json", "application/json; charset=iso-8859-1", "text/plain"] {
                let response = try await post(contentType, json)
                #expect(response.status == .unsupportedMediaType, "\(contentType ?? "no Content-Type")")
                let problem = try JSONDecoder().decode(ProblemDetails.Body.self, from: Data(response.body.readableBytesView))
                #expect(problem.code == "unsupported_media_type")
            }
            #expect(try await post("application/json; charset=UTF-8", json).text == "a@example.com")
            // An empty body without a content type stays an empty object (bodiless POSTs name their missing fields).
            #expect(try await post(nil, nil).status == .ok)
            #expect(try await post(nil, ByteBuffer()).status == .ok)
            // A declared non-JSON type is refused even without a body.
            #expect(try await post("text/plain", nil).status == .unsupportedMediaType)
            let duplicate = try await post("application/json", ByteBuffer(string: #"{"email":"A","email":"B"}"#))
            #expect(duplicate.status == .badRequest)
            let problem = try JSONDecoder().decode(ProblemDetails.Body.self, from: Data(duplicate.body.readableBytesView))
            #expect(problem.code == "malformed_body" && problem.detail?.contains("\"email\"") == true)
        }
    }

    // MARK: Duplicate members

    @Test(arguments: [
        #"{"email":"A","email":"B"}"#,
        #"{"email":"A","password":"p","email":"B"}"#,
        #"{"a":{"b":1,"b":2}}"#,
        #"{"a":[{"x":1},{"y":1,"y":2}]}"#,
        #"[{"k":1,"k":1}]"#,
        #"{"email":"A","\u0065mail":"B"}"#,
        #"{"e\/":1,"e/":2}"#,
        #"{"\ud83d\ude00":1,"😀":2}"#,
        // Canonically equivalent names: one key of a Swift dictionary, so JSONDecoder would merge them.
        #"{"é":1,"é":2}"#,
    ])
    func duplicateMembersAreFound(_ json: String) throws {
        #expect(JSONMemberScanner.scan(Array(json.utf8)) != .unique, "\(json)")
        if json.hasPrefix("{") {
            #expect(throws: ProblemDetails.self) { try JSONBody(bytes: Data(json.utf8)) }
        }
    }

    @Test(arguments: [
        #"{"email":"A","password":"B"}"#,
        #"{"a":{"b":1},"b":{"a":1}}"#,
        #"[{"k":1},{"k":2}]"#,
        #"{"a":"{\"a\":1,\"a\":2}","b":"\\"}"#,
        #"{"a":[1,"a",{"a":[]}],"b":null}"#,
        #"{"E":1,"e":2,"e\u0301":3}"#,
        #"{}"#,
        #"  {"x" : [ ] , "y" : { } }  "#,
    ])
    func distinctMembersPass(_ json: String) throws {
        #expect(JSONMemberScanner.scan(Array(json.utf8)) == .unique, "\(json)")
    }

    @Test func theDuplicateIsNamed() {
        #expect(JSONMemberScanner.scan(Array(#"{"x":{"code":1,"c\u006fde":2}}"#.utf8)) == .duplicate("code"))
        #expect(JSONMemberScanner.scan(Array(#"{"a":"\ud800"}"#.utf8)) == .unique, "values are not decoded")
        #expect(JSONMemberScanner.scan(Array(#"{"\ud800":1}"#.utf8)) == .invalid, "a lone surrogate in a name")
        #expect(JSONMemberScanner.scan(Array(#"{"a":1"#.utf8)) == .invalid)
    }

    @Test func deepNestingDoesNotRecurse() {
        let depth = 10_000
        let json = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(JSONMemberScanner.scan(Array(json.utf8)) == .unique)
    }

    // MARK: Request ids

    @Test(arguments: ["a", "edge-test.abc_123", "0123456789abcdef0123456789abcdef", String(repeating: "x", count: 128)])
    func validRequestIDsAreKept(_ id: String) {
        #expect(RequestIDMiddleware<RegistrarRequestContext>.sanitized(id) == id)
    }

    @Test(arguments: [
        "", "has space", "q\"uote", String(repeating: "x", count: 129), String(repeating: "x", count: 200), "a/b", "a:b", "é", "a\tb",
        "a,b", "<script>", "id\u{0}",
    ])
    func invalidRequestIDsAreReplaced(_ id: String) {
        #expect(RequestIDMiddleware<RegistrarRequestContext>.sanitized(id) == nil)
    }

    @Test func theResponseCarriesTheKeptOrANewID() async throws {
        let router = Router.registrar()
        router.get("/id") { _, context -> String in context.logger[metadataKey: "request.id"].map { "\($0)" } ?? "" }
        let app = Application(router: router)
        try await app.test(.router) { client in
            let kept = try await client.execute(uri: "/id", method: .get, headers: [.requestID: "abc.DEF_1-2"])
            #expect(kept.headers[.requestID] == "abc.DEF_1-2" && kept.text == "abc.DEF_1-2")
            let replaced = try await client.execute(uri: "/id", method: .get, headers: [.requestID: "has space"])
            let id = try #require(replaced.headers[.requestID])
            #expect(id != "has space" && replaced.text == id && RequestIDMiddleware<RegistrarRequestContext>.sanitized(id) == id)
        }
    }
}

extension TestResponse {
    fileprivate var text: String { String(buffer: self.body) }
}
