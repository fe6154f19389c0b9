import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Storage
import UseCases

/// Turns every error thrown below it into a `Problem` (known errors to their status and code, anything else to a
/// logged 500 with no detail) and stamps every response with `X-Request-ID`, the id its log lines carry, and every
/// API response, errors included, with `Cache-Control: no-store` (they carry personal data).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let requestID = context.id
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let problem = Problem(error)
            // PostgreSQL's words without the row values its DETAIL quotes (personal data stays out of logs).
            let logged = loggedDescription(of: error)
            if problem.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(logged)"])
            } else if problem.status == .serviceUnavailable {
                context.logger.warning("request refused: \(problem.code)", metadata: ["error": "\(logged)"])
            }
            response = try problem.response(from: request, context: context)
        }
        response.headers[.requestID] = requestID
        if request.uri.path.hasPrefix("/api/"), response.headers[.cacheControl] == nil {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-ID")!
}

extension Problem {
    /// The problem an error stands for: the HTTP layer's own failures here, every other through the catalogue
    /// (`CodedError(describing:)`: known errors to their code, anything else to a logged 500 with no detail).
    init(_ error: any Error) {
        switch error {
        case let problem as Problem:
            self = problem
        case let error as HTTPError:
            let code = Self.code(for: error.status)
            self.init(
                status: error.status, code: code.name, detail: error.body ?? error.status.reasonPhrase,
                headers: error.headers, extensions: [:])
        case is NIOTooManyBytesError:
            self.init(.bodyTooLarge)
        case is HTTPParserError:
            // Reading the body failed: it ended before its Content-Length, or it is not valid HTTP.
            self.init(.malformedRequest)
        case is DecodingError:
            self.init(.invalidJSON)
        default:
            let coded = CodedError(describing: error)
            self.init(coded.code, detail: coded.detail)
        }
    }

    /// The code of a status Hummingbird answered with itself.
    static func code(for status: HTTPResponse.Status) -> ErrorCode {
        switch status {
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .contentTooLarge: .bodyTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .tooManyRequests: .rateLimited
        default: status.code >= 500 ? .internalError : .badRequest
        }
    }
}
