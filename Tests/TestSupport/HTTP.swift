import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small HTTP client for talking to real processes in tests.
public enum HTTP {
    /// A response: status, headers (lower-cased names) and body text.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String

        /// The body as a JSON object, if it is one.
        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(self.body.utf8)) as? [String: Any] }
    }

    /// Sends `method url` with `headers` and an optional JSON `body`.
    public static func request(_ method: String, _ url: String, headers: [String: String] = [:], json body: Any? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 10
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] { headers["\(name)".lowercased()] = "\(value)" }
        return Reply(status: http?.statusCode ?? 0, headers: headers, body: String(decoding: data, as: UTF8.self))
    }

    /// `Basic base64(email:password)`.
    public static func basic(_ email: String, _ password: String) -> String {
        "Basic " + Data("\(email):\(password)".utf8).base64EncodedString()
    }
}
