import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct DocsTests {
    @Test func servesTheOpenAPIDocumentAndSwaggerUI() async throws {
        try await UsersAPIHarness.run { api in
            let spec = try await api.client.execute(uri: "/openapi.json", method: .get)
            #expect(spec.status == .ok)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(spec.body.readableBytesView)) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: Any])
            for path in ["/v1/users", "/v1/users/activate", "/v1/users/activate/resend", "/v1/users/login", "/v1/users/me", "/v1/users/logout"] {
                #expect(paths[path] != nil, "\(path) is documented")
            }
            let docs = try await api.client.execute(uri: "/docs", method: .get)
            #expect(docs.status == .ok)
            #expect(docs.text.contains("/openapi.json"))
        }
    }
}
