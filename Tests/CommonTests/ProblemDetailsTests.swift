import Common
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct ProblemDetailsTests {
    @Test func problemsAreRFC9457JSONWithAStableCode() async throws {
        let router = Router.registrar()
        router.get("/problem") { _, _ -> Response in
            throw ProblemDetails.validation([.init(field: "email", message: "must be an email address")])
        }
        router.get("/crash") { _, _ -> Response in throw CancellationErrorLike() }
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/problem", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                #expect(response.headers[.contentType] == "application/problem+json")
                let body = try JSONDecoder().decode(ProblemDetails.Body.self, from: Data(response.body.readableBytesView))
                #expect(body.code == "validation_failed")
                #expect(body.status == 422)
                #expect(body.type == "urn:registrar:problem:validation_failed")
                #expect(body.errors == [.init(field: "email", message: "must be an email address")])
            }
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
                let body = try JSONDecoder().decode(ProblemDetails.Body.self, from: Data(response.body.readableBytesView))
                #expect(body.code == "not_found")
            }
            try await client.execute(uri: "/crash", method: .get) { response in
                #expect(response.status == .internalServerError)
                let text = String(buffer: response.body)
                #expect(text.contains("internal_error"))
                #expect(!text.contains("secret detail"), "error text never reaches the client")
            }
        }
    }

    @Test func requestIDIsEchoedOrGenerated() async throws {
        let router = Router.registrar()
        router.get("/ok") { _, _ in "ok" }
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/ok", method: .get, headers: [.requestID: "abc-123"]) { response in
                #expect(response.headers[.requestID] == "abc-123")
            }
            try await client.execute(uri: "/ok", method: .get, headers: [.requestID: "bad id with spaces"]) { response in
                let id = try #require(response.headers[.requestID])
                #expect(id != "bad id with spaces" && !id.isEmpty)
            }
        }
    }
}

private struct CancellationErrorLike: Error, CustomStringConvertible {
    var description: String { "secret detail" }
}
