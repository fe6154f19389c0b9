import FaceGateRuntime
import Foundation
import Hummingbird
import UseCases

/// An error response in RFC 9457 form (`application/problem+json`) with a stable machine-readable `code`: the one
/// shape of every error the API returns. `detail` is written for people and never holds internal messages.
public struct Problem: Error, HTTPResponseError, Equatable {
    public let status: HTTPResponse.Status
    public let code: String
    public let detail: String
    /// Extra headers: `Retry-After`, `WWW-Authenticate`, rate-limit headers.
    public var headers: HTTPFields
    /// Members of the problem beside the standard ones (RFC 9457 §3.2), named in snake_case: what a client needs to
    /// act on this problem, such as the `reason` and `member` of `membership_inactive`.
    var extensions: [String: JSONValue]

    /// The answer for `code` (its kind decides the status; a transient code's answer says when to try again), in
    /// `detail`'s words or the catalogue's.
    public init(
        _ code: ErrorCode, detail: String? = nil, headers: HTTPFields = [:], extensions: [String: JSONValue] = [:]
    ) {
        var headers = headers
        if let seconds = code.retryAfter, headers[.retryAfter] == nil { headers[.retryAfter] = String(seconds) }
        self.init(
            status: code.kind.status, code: code.name, detail: detail ?? code.text, headers: headers,
            extensions: extensions)
    }

    /// Only for a status Hummingbird chose itself (`HTTPError`): everything else goes through the catalogue.
    init(
        status: HTTPResponse.Status, code: String, detail: String, headers: HTTPFields, extensions: [String: JSONValue]
    ) {
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.extensions = extensions
    }

    struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var code: String
        var detail: String
        var requestId: String
        var extensions: [String: JSONValue]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            // Written with their final names: the API's encoder converts Swift names to snake_case, and a snake_case
            // name stays as it is.
            var container = encoder.container(keyedBy: Key.self)
            for (name, value) in extensions { try container.encode(value, forKey: Key(stringValue: name)) }
            try container.encode(type, forKey: Key(stringValue: "type"))
            try container.encode(title, forKey: Key(stringValue: "title"))
            try container.encode(status, forKey: Key(stringValue: "status"))
            try container.encode(code, forKey: Key(stringValue: "code"))
            try container.encode(detail, forKey: Key(stringValue: "detail"))
            try container.encode(requestId, forKey: Key(stringValue: "requestId"))
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(
            type: "about:blank", title: status.reasonPhrase, status: status.code, code: code, detail: detail,
            requestId: context.id, extensions: extensions)
        var response = try JSONResponse.encode(body, status: status, contentType: "application/problem+json")
        response.headers.append(contentsOf: headers)
        return response
    }

    static let internalError = Problem(ErrorCode.internalError)
}

extension ErrorKind {
    /// The HTTP status of a failure of this kind.
    public var status: HTTPResponse.Status {
        switch self {
        case .invalid: .badRequest
        case .unauthenticated: .unauthorized
        case .refused: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .timedOut: .requestTimeout
        case .conflict: .conflict
        case .gone: .gone
        case .tooLarge: .contentTooLarge
        case .unsupportedMedia: .unsupportedMediaType
        case .unprocessable: .unprocessableContent
        case .rateLimited: .tooManyRequests
        case .transient: .serviceUnavailable
        case .internal: .internalServerError
        }
    }
}
