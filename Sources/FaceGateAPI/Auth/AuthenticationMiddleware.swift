import Foundation
import Hummingbird
import Storage

/// Accepts `Authorization: Bearer <access token>`: a valid, unexpired access token whose account still exists, is
/// not disabled and whose session has not been logged out (checked in the database on every request, so that
/// disabling someone or logging out takes effect at once). Without a token the request continues anonymous and
/// the route decides; a bad token is a 401 at once, counted against the client's address in `limiter` so that
/// guessing tokens is rate-limited too.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokens: TokenService
    let users: UserStore
    let limiter: TokenBucketLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        let account: UserStore.Account, session: UUID
        do {
            (account, session) = try await authenticate(header)
        } catch let problem as Problem where problem.status == .unauthorized {
            let decision = limiter.take(context.clientKey)
            throw decision.allowed ? problem : Problem.rateLimited(decision)
        }
        var context = context
        context.identity = account
        context.session = session
        return try await next(request, context)
    }

    private func authenticate(_ header: String) async throws -> (UserStore.Account, UUID) {
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw Problem.invalidToken("the Authorization header must be 'Bearer <access token>'")
        }
        let (_, user, session) = try await tokens.verify(String(header.dropFirst(7)), as: .access)
        guard let account = try await users.activeAccount(id: user, session: session) else {
            throw Problem.invalidToken("the account is disabled or the session has ended")
        }
        return (account, session)
    }
}
