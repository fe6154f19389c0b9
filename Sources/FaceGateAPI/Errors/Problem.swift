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

    public init(_ status: HTTPResponse.Status, code: String, detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
    }

    struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var code: String
        var detail: String
        var requestId: String
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(type: "about:blank", title: status.reasonPhrase, status: status.code, code: code, detail: detail,
                        requestId: context.id)
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
