import FaceGateRuntime
import Foundation
import Hummingbird

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

    public init(_ status: HTTPResponse.Status, code: String, detail: String, headers: HTTPFields = [:]) {
        self.init(status, code: code, detail: detail, headers: headers, extensions: [:])
    }

    init(
        _ status: HTTPResponse.Status, code: String, detail: String, headers: HTTPFields = [:],
        extensions: [String: JSONValue]
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
        let body = Body(type: "about:blank", title: status.reasonPhrase, status: status.code, code: code, detail: detail,
                        requestId: context.id, extensions: extensions)
        var response = try JSONResponse.encode(body, status: status, contentType: "application/problem+json")
        response.headers.append(contentsOf: headers)
        return response
    }

    /// 503 with `Retry-After`, for what passes by itself (overload, a database outage, the gallery loading).
    static func unavailable(code: String, detail: String, retryAfter seconds: Int = 5) -> Problem {
        Problem(.serviceUnavailable, code: code, detail: detail, headers: [.retryAfter: String(seconds)])
    }

    static let internalError = Problem(
        .internalServerError, code: "internal_error",
        detail: "the server failed to handle this request; it has been logged with the request id")
}
