import Common
import CommonPostgres
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET /openapi.json` (the OpenAPI 3.1 document of the whole public API, all services) and
/// `GET /docs` (Swagger UI for it, with the Basic and Bearer schemes the demo flow uses).
///
/// Swagger UI comes from our own origin only: its files (swagger-ui-dist, pinned by
/// scripts/fetch-swagger-ui.sh, never committed) are read from `SWAGGER_UI_DIR`, and every `/docs`
/// response carries a Content-Security-Policy that allows nothing from elsewhere and no inline
/// script. Credentials typed into it are not persisted. Without the files, `/docs` says how to get
/// them and links the document.
struct DocsController: Sendable {
    /// The Swagger UI files served under `/docs/`, with their content types.
    static let assets: [(name: String, contentType: String)] = [
        ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.css", "text/css; charset=utf-8"),
        ("LICENSE", "text/plain; charset=utf-8"),
    ]

    /// `default-src 'none'`, then only what Swagger UI needs, from this origin: its script and
    /// stylesheet, the document (fetch), and the `data:` images its stylesheet embeds.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// `SWAGGER_UI_DIR`, when it holds Swagger UI's files.
    let assetsDirectory: String?
    let fileIO = FileIO()

    /// Serves the files of `directory` (`SWAGGER_UI_DIR`); without them `/docs` answers instructions.
    init(assetsDirectory directory: String?, logger: Logger) {
        let complete = directory.map { directory in
            Self.assets.allSatisfy { FileManager.default.isReadableFile(atPath: "\(directory)/\($0.name)") }
        }
        if complete != true {
            logger.warning(
                "Swagger UI files missing: /docs explains how to get them (scripts/fetch-swagger-ui.sh, SWAGGER_UI_DIR)",
                metadata: ["docs.directory": .string(directory ?? "")]
            )
        }
        self.assetsDirectory = complete == true ? directory : nil
    }

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
        let page = ByteBuffer(string: self.assetsDirectory == nil ? Self.missingAssetsPage : Self.swaggerPage)
        router.get("/docs") { _, _ -> Response in
            Response(status: .ok, headers: Self.headers("text/html; charset=utf-8", cache: "no-cache"), body: .init(byteBuffer: page))
        }
        let script = ByteBuffer(string: Self.initScript)
        router.get("/docs/init.js") { _, _ -> Response in
            Response(status: .ok, headers: Self.headers("text/javascript; charset=utf-8", cache: "no-cache"), body: .init(byteBuffer: script))
        }
        guard let directory = self.assetsDirectory else { return }
        for asset in Self.assets {
            let path = "\(directory)/\(asset.name)"
            router.get("/docs/\(asset.name)") { [fileIO] _, context -> Response in
                let body = try await fileIO.loadFile(path: path, context: context)
                return Response(status: .ok, headers: Self.headers(asset.contentType, cache: "public, max-age=3600"), body: body)
            }
        }
    }

    /// The headers of every `/docs` response.
    static func headers(_ contentType: String, cache: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = cache
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        return headers
    }

    static let swaggerPage = """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Registrar API</title>
          <link rel="icon" href="data:,">
          <link rel="stylesheet" href="/docs/swagger-ui.css">
        </head>
        <body>
          <div id="swagger-ui"></div>
          <noscript><p>Swagger UI needs JavaScript. The OpenAPI document: <a href="/openapi.json">/openapi.json</a>.</p></noscript>
          <script src="/docs/swagger-ui-bundle.js"></script>
          <script src="/docs/init.js"></script>
        </body>
        </html>
        """

    /// Swagger UI's settings: the document from this origin, no validator badge (an external
    /// image), and credentials kept in memory only (persistAuthorization would store Basic
    /// email:password and Bearer tokens in localStorage).
    static let initScript = """
        "use strict";
        window.ui = SwaggerUIBundle({
          url: "/openapi.json",
          dom_id: "#swagger-ui",
          persistAuthorization: false,
          validatorUrl: null,
          queryConfigEnabled: false,
          withCredentials: false
        });

        """

    static let missingAssetsPage = """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Registrar API</title>
        </head>
        <body>
          <h1>Registrar API</h1>
          <p>The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p>
          <p>Swagger UI is not installed on this server: its files (swagger-ui-dist 5.34.0) are not in the
          folder <code>SWAGGER_UI_DIR</code> names. <code>make up</code> fetches them; by hand, run
          <code>scripts/fetch-swagger-ui.sh DIR</code> (it needs pip and network access once), set
          <code>SWAGGER_UI_DIR=DIR</code> and restart users-api.</p>
        </body>
        </html>
        """
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}
