import HTTPTypes
import Hummingbird

/// CORS for the origins in `ALLOWED_ORIGINS` only: their requests get `Access-Control-Allow-Origin` (echoing the
/// origin, with `Vary: Origin`) and their preflights a 204; any other origin gets no CORS headers, so browsers
/// keep other sites' pages out. With no origins configured nothing is added. A preflight allows the headers the API
/// reads (`Idempotency-Key` too, so that an allowed page can retry its writes safely), and answers expose the ones a
/// page needs to read (`Idempotent-Replayed` among them).
struct CORSAllowListMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let origin = request.headers[.origin], origins.contains(origin) else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin, .vary: "Origin",
                    .accessControlAllowMethods: "GET, POST, PATCH, DELETE, OPTIONS",
                    .accessControlAllowHeaders: "Authorization, Content-Type, Idempotency-Key",
                    .accessControlMaxAge: "600",
                ])
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlExposeHeaders] =
            "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Idempotent-Replayed"
        response.headers.append(HTTPField(name: .vary, value: "Origin"))
        return response
    }
}
