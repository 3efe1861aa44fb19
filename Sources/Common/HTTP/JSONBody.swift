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
/// Strict, so that the service reads a body exactly as any proxy or client in front of it does:
/// a content type other than `application/json` (optionally `charset=utf-8`), or a body without
/// one, is a 415 (``ProblemDetails/unsupportedMediaType``); malformed JSON, a non-object or a
/// member name repeated in one object (at any depth) is a 400 (``ProblemDetails/malformedBody(_:)``);
/// a body over the context's limit is a 413. Field errors are gathered and thrown together as one
/// 422 naming every bad field (``finish()``).
public struct JSONBody {
    private let object: [String: JSONValue]
    private var errors: [ProblemDetails.FieldError] = []

    /// Parses the body of `request`. An empty body without a content type is an empty object, so
    /// routes whose fields are all missing name them (422) rather than refusing the media type.
    public static func parse(_ request: Request, context: some RequestContext) async throws -> JSONBody {
        let contentType = request.headers[.contentType]
        if let contentType, !Self.isJSONMediaType(contentType) {
            throw ProblemDetails.unsupportedMediaType
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw ProblemDetails.bodyTooLarge(limit: context.maxUploadSize)
        }
        if contentType == nil, buffer.readableBytes > 0 {
            throw ProblemDetails.unsupportedMediaType
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
        // JSONDecoder keeps one of two members with the same name, silently: refuse them, since a
        // proxy that keeps the other one would read another request than ours.
        switch JSONMemberScanner.scan(Array(bytes)) {
        case .unique:
            break
        case .duplicate(let name):
            throw ProblemDetails.malformedBody("The member \"\(name.prefix(64))\" appears more than once in one object.")
        case .invalid:
            throw ProblemDetails.malformedBody("The request body is not valid JSON.")
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
