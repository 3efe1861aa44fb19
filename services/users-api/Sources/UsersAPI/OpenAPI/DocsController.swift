import Common
import CommonPostgres
import Foundation
import Hummingbird

/// `GET /openapi.json` (the OpenAPI 3.1 document of the whole public API, all services) and
/// `GET /docs` (Swagger UI for it, with the Basic and Bearer schemes the demo flow uses).
struct DocsController: Sendable {
    func addRoutes(to router: Router<RegistrarRequestContext>) throws {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw MigrationError.badFileName("openapi.json (resource missing from the build)")
        }
        let document = ByteBuffer(bytes: try Data(contentsOf: url))
        router.get("/openapi.json") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: document))
        }
        let page = ByteBuffer(string: Self.swaggerPage)
        router.get("/docs") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: page))
        }
    }

    static let swaggerPage = """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Registrar API</title>
          <link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css">
        </head>
        <body>
          <div id="swagger-ui"></div>
          <script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js" crossorigin></script>
          <script>
            window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true });
          </script>
        </body>
        </html>
        """
}
