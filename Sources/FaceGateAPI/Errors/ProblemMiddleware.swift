import FaceEngine
import Foundation
import Gallery
import HTTPTypes
import Hummingbird
import ImageDecoding
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Storage
import UseCases

/// Turns every error thrown below it into a `Problem` (known errors to their status and code, anything else to a
/// logged 500 with no detail) and stamps every response with `X-Request-ID`, the id its log lines carry, and every
/// API response, errors included, with `Cache-Control: no-store` (they carry personal data).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
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
    /// The problem an error stands for.
    init(_ error: any Error) {
        switch error {
        case let problem as Problem:
            self = problem
        case let error as ImageDecodingError:
            self = Problem(Self.status(of: error), code: error.code, detail: error.description)
        case let error as UseCaseError:
            self = Self.problem(for: error)
        case let error as EnrolmentRejection:
            self = Problem(.unprocessableContent, code: error.code, detail: error.description)
        case let error as FaceEngineError:
            if case .overloaded = error {
                self = .unavailable(code: "overloaded", detail: "every face engine is busy; try again shortly", retryAfter: 1)
            } else {
                self = .internalError
            }
        case GalleryError.notReady:
            self = .unavailable(code: "gallery_loading", detail: "the face gallery is loading; try again shortly")
        case let error as StorageError:
            self = Self.problem(for: error)
        case let error as PSQLError where Self.isOutage(error):
            self = .databaseUnavailable
        case let error as PSQLError where error.serverInfo?[.sqlState]?.hasPrefix("22") == true:
            // PostgreSQL's data exceptions: a value it cannot store or compare, such as text with a NUL character.
            self = Problem(.badRequest, code: "invalid_value",
                           detail: "a value in the request cannot be stored (for example text with a NUL character)")
        case let error as PostgresTransactionError
            where [error.beginError, error.commitError, error.rollbackError, error.closureError]
                .contains(where: { ($0 as? PSQLError).map(Self.isOutage) == true }):
            // The connection went away inside a transaction: it was not committed, or (lost during COMMIT) it is
            // whole; either way nothing is half-written.
            self = .databaseUnavailable
        case let error as HTTPError:
            self = Problem(error.status, code: Self.code(for: error.status), detail: error.body ?? error.status.reasonPhrase,
                           headers: error.headers)
        case is NIOTooManyBytesError:
            self = Problem(.contentTooLarge, code: "body_too_large",
                           detail: "the request body is larger than this endpoint accepts")
        case is HTTPParserError:
            // Reading the body failed: it ended before its Content-Length, or it is not valid HTTP.
            self = Problem(.badRequest, code: "malformed_request",
                           detail: "the request body is incomplete or not valid HTTP")
        case is DecodingError:
            self = Problem(.badRequest, code: "invalid_json", detail: "the request body is not the JSON this endpoint expects")
        default:
            self = .internalError
        }
    }

    static func status(of error: ImageDecodingError) -> HTTPResponse.Status {
        switch error {
        case .unsupportedFormat: .unsupportedMediaType
        case .tooManyBytes, .tooManyPixels: .contentTooLarge
        case .empty, .corrupt, .truncated: .badRequest
        }
    }

    static func problem(for error: UseCaseError) -> Problem {
        switch error {
        case .noFace: Problem(.unprocessableContent, code: "no_face", detail: error.description)
        case .noMatch: Problem(.notFound, code: "no_match", detail: error.description)
        case .faceBelongsToOtherMember: Problem(.conflict, code: "face_belongs_to_other_member", detail: error.description)
        case .noFacesEnrolled: Problem(.conflict, code: "no_faces_enrolled", detail: error.description)
        case .notFound(let what): .notFound(what)
        case .invalidField(let name, let rule): .invalidField(name, rule)
        case .challengeInvalid: Problem(.conflict, code: "challenge_invalid", detail: error.description)
        case .livenessUnavailable: Problem(.conflict, code: "liveness_unavailable", detail: error.description)
        }
    }

    static func problem(for error: StorageError) -> Problem {
        switch error {
        case .memberNotFound: Problem(.notFound, code: "member_not_found", detail: error.description)
        case .duplicateFace: Problem(.conflict, code: "duplicate_face", detail: error.description)
        case .duplicateExternalID: Problem(.conflict, code: "duplicate_external_id", detail: error.description)
        case .duplicateEmail: Problem(.conflict, code: "duplicate_email", detail: error.description)
        case .duplicateUsername: Problem(.conflict, code: "duplicate_username", detail: error.description)
        case .duplicateAccountEmail: Problem(.conflict, code: "duplicate_email", detail: error.description)
        case .duplicateOrganization: Problem(.conflict, code: "duplicate_organization", detail: error.description)
        case .organizationNotFound: Problem(.notFound, code: "not_found", detail: error.description)
        case .timedOut, .connectionLost: .databaseUnavailable
        case .modelNotActive: Problem.unavailable(code: "model_switching", detail: error.description, retryAfter: 5)
        case .unknownTemplateKey:
            // An instance started without a key the others store templates under: the operator's to fix (logged).
            Problem.unavailable(code: "template_key_unknown",
                                detail: "face templates are stored under a key this instance does not have", retryAfter: 30)
        case .schemaNewerThanCode, .missingSuperAdminCredentials, .embeddingWidthMismatch, .noRowReturned: .internalError
        }
    }

    static let databaseUnavailable = Problem.unavailable(
        code: "database_unavailable", detail: "the database is unavailable; try again shortly", retryAfter: 2)

    /// Connection-level failures and the server's "shutting down / cannot connect now" classes (08, 57P).
    static func isOutage(_ error: PSQLError) -> Bool {
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return false
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "body_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .badRequest: "bad_request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .tooManyRequests: "rate_limited"
        default: status.code >= 500 ? "internal_error" : "request_error"
        }
    }
}
