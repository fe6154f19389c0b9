import HTTPTypes
import Hummingbird

/// Applies `RATE_LIMIT_PER_MINUTE` to every `/api/v1` request, keyed by the signed-in user or else the client's
/// IP address, and the stricter login limits per IP and per username. Refused requests get 429 with
/// `Retry-After`; every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let requests: TokenBucketLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let key = context.identity.map { "user:\($0.id)" } ?? context.clientKey
        let decision = requests.take(key)
        guard decision.allowed else { throw Problem.rateLimited(decision) }
        var response = try await next(request, context)
        response.headers.append(contentsOf: decision.headers)
        return response
    }
}

extension TokenBucketLimiter.Decision {
    var headers: HTTPFields {
        [.rateLimitLimit: String(limit), .rateLimitRemaining: String(remaining), .rateLimitReset: String(resetSeconds)]
    }
}

extension Problem {
    static func rateLimited(_ decision: TokenBucketLimiter.Decision, what: String = "requests") -> Problem {
        var headers = decision.headers
        headers[.retryAfter] = String(decision.retryAfterSeconds)
        return Problem(
            .rateLimited, detail: "too many \(what); try again in \(decision.retryAfterSeconds) s", headers: headers)
    }
}

extension HTTPField.Name {
    static let rateLimitLimit = Self("RateLimit-Limit")!
    static let rateLimitRemaining = Self("RateLimit-Remaining")!
    static let rateLimitReset = Self("RateLimit-Reset")!
}
