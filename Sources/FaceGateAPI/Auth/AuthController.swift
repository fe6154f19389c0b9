import FaceGateRuntime
import Foundation
import Hummingbird
import Logging
import Storage

/// `/api/v1/auth`: login, refresh (rotation with reuse detection), logout, me.
struct AuthController {
    let tokens: TokenService
    let users: UserStore
    let refreshTokens: RefreshTokenStore

    /// A bcrypt hash of a random password: unknown usernames are checked against it so that a login for a name that
    /// does not exist takes as long as one for a name that does.
    let dummyHash: String
    /// Login attempts per client address, and per username from one address (`LOGIN_RATE_LIMIT_PER_MINUTE`).
    let loginLimiter: TokenBucketLimiter
    /// Login attempts per username from all addresses together, ten times as many: guessing spread over many
    /// addresses is still limited, while failures from one address cannot keep the account's owner out.
    /// A username's buckets are the account's that the database matches (PostgreSQL's `lower()` decides, which folds
    /// `İ` to `i` where Swift writes `i̇`), so that no spelling of one name gets a bucket of its own; a name matching
    /// no account is keyed by its text, lowercased.
    let usernameLimiter: TokenBucketLimiter

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("login", use: login)
        group.post("refresh", use: refresh)
        group.post("logout", use: logout)
        group.get("me", use: me)
    }

    struct LoginRequest: Decodable {
        var username: String
        var password: String
    }

    struct RefreshRequest: Decodable {
        var refreshToken: String
        enum CodingKeys: String, CodingKey { case refreshToken = "refresh_token" }
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: LoginRequest.self, context: context)
        let perAddress = loginLimiter.take(context.clientKey)
        guard perAddress.allowed else { throw Problem.rateLimited(perAddress, what: "login attempts") }
        let found = try await users.credentials(username: body.username)
        let name = found.map { "account:\($0.account.id)" } ?? "username:\(body.username.lowercased().prefix(100))"
        for (limiter, key) in [(loginLimiter, "\(name)|\(context.clientKey)"), (usernameLimiter, name)] {
            let decision = limiter.take(key)
            guard decision.allowed else { throw Problem.rateLimited(decision, what: "login attempts") }
        }
        let matches = try await verifyPassword(body.password, hash: found?.passwordHash ?? dummyHash)
        guard let found, matches, !found.account.disabled else {
            // The account when the username exists, and nothing typed otherwise: people type passwords into the
            // username field, and the audit log is no place for them.
            try await users.audit(
                "login_failed", organization: found?.account.organizationID,
                actor: found?.account.id, target: found?.account.id.uuidString)
            throw Problem(.invalidCredentials)
        }
        let (pair, record) = try await tokens.pair(for: found.account, session: UUID())
        try await refreshTokens.insert(record)
        try await users.audit("login", organization: found.account.organizationID, actor: found.account.id)
        return try JSONResponse.encode(pair, status: .ok)
    }

    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: RefreshRequest.self, context: context)
        let (claims, user, session) = try await tokens.verify(body.refreshToken, as: .refresh)
        guard let account = try await users.activeAccount(id: user, session: session) else {
            throw Problem.invalidToken("the account is disabled or the session has ended")
        }
        let issued = try await tokens.pair(for: account, session: session)
        let rotation = try await refreshTokens.rotate(hash: TokenService.hash(body.refreshToken), next: issued.record)
        switch rotation {
        case .rotated:
            return try JSONResponse.encode(issued.pair, status: .ok)
        case .replacedInGrace(let user, let family):
            // A lost answer, or a copied token used first: either way one pair goes on, and the one it replaced is
            // dead (its holder, presenting it, ends the session). Audited, so that a copied token leaves a trace.
            context.logger.notice(
                "refresh token presented again within the grace; the pair it got before is revoked",
                metadata: ["user": "\(user)", "session": "\(family)", "jti": "\(claims.jti.value)"])
            try await users.audit("refresh_token_grace_used", organization: account.organizationID, actor: user)
            return try JSONResponse.encode(issued.pair, status: .ok)
        case .reused(let user, let family):
            context.logger.warning(
                "refresh token reused; session revoked",
                metadata: [
                    "user": "\(user)", "session": "\(family)", "jti": "\(claims.jti.value)",
                ])
            try await users.audit("refresh_token_reused", organization: account.organizationID, actor: user)
            throw Problem.invalidToken("this refresh token was already used; the session has been revoked")
        case .invalid:
            throw Problem.invalidToken("the refresh token is not valid")
        }
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try context.account()
        if let session = context.session { try await refreshTokens.revokeFamily(session) }
        try await users.audit("logout", organization: account.organizationID, actor: account.id)
        return Response(status: .noContent)
    }

    struct Me: Encodable {
        var id: UUID
        var organizationId: UUID
        var username: String
        var email: String?
        var role: String
        var isSuperAdmin: Bool
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try context.account()
        return try JSONResponse.encode(
            Me(
                id: account.id, organizationId: account.organizationID, username: account.username,
                email: account.email,
                role: account.role, isSuperAdmin: account.isSuperAdmin), status: .ok)
    }
}
