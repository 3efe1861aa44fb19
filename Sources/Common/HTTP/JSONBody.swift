import HTTPTypes
import Hummingbird
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A request body parsed as a JSON object, with field accessors that collect precise errors.
///
/// Malformed JSON or a non-object is a 400 (``ProblemDetails/malformedBody(_:)``); a body over the
/// context's limit is a 413; a declared non-JSON content type is a 415. Field errors are gathered
/// and thrown together as one 422 naming every bad field (``finish()``).
public struct JSONBody {
    private let object: [String: JSONValue]
    private var errors: [ProblemDetails.FieldError] = []

    /// Parses the body of `request`.
    public static func parse(_ request: Request, context: some RequestContext) async throws -> JSONBody {
        if let contentType = request.headers[.contentType], let mediaType = MediaType(from: contentType),
            !(mediaType.isType(.applicationJson) || mediaType.subType.hasSuffix("+json"))
        {
            throw ProblemDetails.unsupportedMediaType
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw ProblemDetails.bodyTooLarge(limit: context.maxUploadSize)
        }
        return try JSONBody(bytes: Data(buffer.readableBytesView))
    }

    /// Parses `bytes`; an empty body is an empty object (so missing fields are named as such).
    public init(bytes: Data) throws {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            self.object = [:]
            return
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: bytes) else {
            throw ProblemDetails.malformedBody("The request body is not valid JSON.")
        }
        guard case .object(let object) = value else {
            throw ProblemDetails.malformedBody("The request body must be a JSON object.")
        }
        self.object = object
    }

    /// The string field `name`; records "is required" or "must be a string" and returns nil otherwise.
    public mutating func string(_ name: String) -> String? {
        guard let value = self.object[name], value != .null else {
            self.errors.append(.init(field: name, message: "is required"))
            return nil
        }
        guard case .string(let string) = value else {
            self.errors.append(.init(field: name, message: "must be a string"))
            return nil
        }
        return string
    }

    /// The string field `name` when present; records "must be a string" for another type.
    public mutating func optionalString(_ name: String) -> String? {
        guard let value = self.object[name], value != .null else { return nil }
        guard case .string(let string) = value else {
            self.errors.append(.init(field: name, message: "must be a string"))
            return nil
        }
        return string
    }

    /// Records a custom error on `name`.
    public mutating func reject(_ name: String, _ message: String) {
        self.errors.append(.init(field: name, message: message))
    }

    /// Throws the 422 collecting every field error, if any.
    public func finish() throws {
        if !self.errors.isEmpty { throw ProblemDetails.validation(self.errors) }
    }
}
