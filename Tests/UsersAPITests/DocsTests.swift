import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct DocsTests {
    @Test func servesTheOpenAPIDocumentAndSwaggerUI() async throws {
        let assets = try Self.fakeAssets()
        defer { try? FileManager.default.removeItem(atPath: assets) }
        try await UsersAPIHarness.run(["SWAGGER_UI_DIR": assets]) { api in
            let spec = try await api.client.execute(uri: "/openapi.json", method: .get)
            #expect(spec.status == .ok)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(spec.body.readableBytesView)) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: Any])
            for path in [
                "/v1/users", "/v1/users/activate", "/v1/users/activate/resend", "/v1/users/login", "/v1/users/me", "/v1/users/logout",
                "/v1/users/me/sessions/{id}", "/v1/users/password/forgot", "/v1/users/password/reset", "/v1/users/me/password",
                "/v1/users/me/email", "/v1/users/me/email/confirm",
            ] {
                #expect(paths[path] != nil, "\(path) is documented")
            }

            let docs = try await api.client.execute(uri: "/docs", method: .get)
            #expect(docs.status == .ok)
            #expect(docs.text.contains("<meta charset=\"utf-8\">"))
            for reference in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/init.js"] {
                #expect(docs.text.contains("\"\(reference)\""), "\(reference) is referenced")
            }
            #expect(!docs.text.contains("https://") && !docs.text.contains("http://"), "nothing from another origin")
            #expect(docs.text.firstRange(of: /<script(?![^>]*\bsrc=)[^>]*>/) == nil, "no inline script")
            let policy = try #require(docs.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self';") && policy.contains("connect-src 'self';"))
            #expect(!policy.contains("unsafe") && !policy.contains("http") && !policy.contains("*"))

            let script = try await api.client.execute(uri: "/docs/init.js", method: .get)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8" && script.headers[.contentSecurityPolicy] == policy)
            #expect(script.text.contains("persistAuthorization: false") && script.text.contains("url: \"/openapi.json\""))

            let bundle = try await api.client.execute(uri: "/docs/swagger-ui-bundle.js", method: .get)
            #expect(bundle.status == .ok && bundle.text == "window.SwaggerUIBundle = function () {};\n")
            #expect(bundle.headers[.contentType] == "text/javascript; charset=utf-8")
            let css = try await api.client.execute(uri: "/docs/swagger-ui.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8" && css.text == "body {}\n")
            #expect(try await api.client.execute(uri: "/docs/VERSION", method: .get).status == .notFound, "only the named files")
        }
    }

    @Test func withoutTheFilesDocsSaysHowToGetThem() async throws {
        for directory in [nil, "/nonexistent/swagger-ui"] {
            try await UsersAPIHarness.run(directory.map { ["SWAGGER_UI_DIR": $0] } ?? [:]) { api in
                let docs = try await api.client.execute(uri: "/docs", method: .get)
                #expect(docs.status == .ok)
                #expect(docs.text.contains("href=\"/openapi.json\"") && docs.text.contains("scripts/fetch-swagger-ui.sh"))
                #expect(docs.text.contains("SWAGGER_UI_DIR") && !docs.text.contains("<script"))
                #expect(docs.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
                #expect(try await api.client.execute(uri: "/docs/swagger-ui-bundle.js", method: .get).status == .notFound)
            }
        }
    }

    /// A folder with stand-ins for Swagger UI's files.
    static func fakeAssets() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swagger-ui-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = [
            "swagger-ui-bundle.js": "window.SwaggerUIBundle = function () {};\n", "swagger-ui.css": "body {}\n",
            "LICENSE": "Apache-2.0\n", "VERSION": "v5.34.0\n",
        ]
        for (name, content) in files {
            try Data(content.utf8).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
        return directory
    }
}
