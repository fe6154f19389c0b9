import Crypto
import Foundation
import JWTKit
import Storage

/// The claims of facegate's tokens (JWT, HS256 with `SECRET_KEY`). `typ` tells an access token from a refresh
/// token, so neither is accepted as the other; `sid` is the session: the refresh-token family the login started.
struct TokenClaims: JWTPayload, Equatable {
    var sub: SubjectClaim
    var org: String
    var role: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim
    var typ: String
    var sid: String

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

enum TokenType: String { case access, refresh }

/// Issues and checks tokens. Only HS256 is accepted: the header's `alg` is checked before anything else, so
/// `none` and algorithm-confusion tokens are refused whatever the library would do with them.
struct TokenService: Sendable {
    let keys: JWTKeyCollection
    let accessLifetime: Duration
    let refreshLifetime: Duration

    init(secret: String, accessLifetime: Duration, refreshLifetime: Duration) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.accessLifetime = accessLifetime
        self.refreshLifetime = refreshLifetime
    }

    struct Pair: Encodable {
        var accessToken: String
        var refreshToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
    }

    /// A new access token and refresh token for `account` in session `session`; `record` is what to store.
    func pair(for account: UserStore.Account, session: UUID) async throws -> (
        pair: Pair, record: RefreshTokenStore.NewToken
    ) {
        let now = Date()
        let access = try await sign(account, type: .access, session: session, now: now, lifetime: accessLifetime)
        let refreshID = UUID()
        let refresh = try await sign(
            account, type: .refresh, session: session, now: now, lifetime: refreshLifetime,
            id: refreshID)
        let record = RefreshTokenStore.NewToken(
            id: refreshID, user: account.id, family: session, hash: Self.hash(refresh),
            expiresAt: now + refreshLifetime.timeInterval)
        return (Pair(accessToken: access, refreshToken: refresh, expiresIn: Int(accessLifetime.timeInterval)), record)
    }

    private func sign(
        _ account: UserStore.Account, type: TokenType, session: UUID, now: Date, lifetime: Duration, id: UUID = UUID()
    ) async throws -> String {
        let claims = TokenClaims(
            sub: .init(value: account.id.uuidString), org: account.organizationID.uuidString, role: account.role,
            iat: .init(value: now), exp: .init(value: now + lifetime.timeInterval), jti: .init(value: id.uuidString),
            typ: type.rawValue, sid: session.uuidString)
        return try await keys.sign(claims)
    }

    /// The claims of a valid, unexpired token of `type` signed with our key; a 401 problem otherwise.
    func verify(_ token: String, as type: TokenType) async throws -> (claims: TokenClaims, user: UUID, session: UUID) {
        guard Self.headerIsHS256(token) else { throw Problem.invalidToken("the token is not an HS256 JWT") }
        let claims: TokenClaims
        do {
            claims = try await keys.verify(token, as: TokenClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw Problem.invalidToken("the token has expired")
        } catch {
            throw Problem.invalidToken("the token is not valid")
        }
        guard claims.typ == type.rawValue, let user = UUID(uuidString: claims.sub.value),
            let session = UUID(uuidString: claims.sid)
        else {
            throw Problem.invalidToken("this is not an \(type.rawValue) token")
        }
        return (claims, user, session)
    }

    static func headerIsHS256(_ token: String) -> Bool {
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let data = Data(base64URLEncoded: String(header)),
            let fields = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return fields["alg"] as? String == "HS256"
    }

    static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }
}

extension Duration {
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Problem {
    static func invalidToken(_ detail: String) -> Problem {
        Problem(
            .invalidToken, detail: detail,
            headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
    }

    static let missingToken = Problem(
        .missingToken,
        headers: [.wwwAuthenticate: "Bearer"])
}
