import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import TestSupport
import Testing

@testable import FaceGateAPI

/// Login, token checks on every request, refresh rotation with reuse detection, logout — through the real router
/// and a real database.
@Suite("Authentication", .requiresDatabase)
struct AuthTests {
    struct Tokens: Decodable {
        var access_token: String
        var refresh_token: String
        var token_type: String
        var expires_in: Int
    }

    struct ProblemBody: Decodable {
        var code: String
        var status: Int
    }

    static func login(
        _ client: any TestClientProtocol, username: String = "admin", password: String = "correct horse battery staple"
    ) async throws -> (HTTPResponse.Status, Tokens?, ProblemBody?) {
        let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
        return try await client.execute(
            uri: "/api/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(bytes: body)
        ) { response in
            let data = Data(buffer: response.body)
            return (
                response.status, try? JSONDecoder().decode(Tokens.self, from: data),
                try? JSONDecoder().decode(ProblemBody.self, from: data)
            )
        }
    }

    static func refresh(_ client: any TestClientProtocol, _ token: String) async throws -> (
        HTTPResponse.Status, Tokens?
    ) {
        let body = try JSONSerialization.data(withJSONObject: ["refresh_token": token])
        return try await client.execute(
            uri: "/api/v1/auth/refresh", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(bytes: body)
        ) { response in (response.status, try? JSONDecoder().decode(Tokens.self, from: Data(buffer: response.body))) }
    }

    /// GET /api/v1/auth/me with `token`: the status and the problem code, if any.
    static func me(_ client: any TestClientProtocol, _ token: String?) async throws -> (HTTPResponse.Status, String?) {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: headers) { response in
            if response.status == .unauthorized {
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            return (
                response.status, try? JSONDecoder().decode(ProblemBody.self, from: Data(buffer: response.body)).code
            )
        }
    }

    @Test("login gives a token pair that /me accepts; wrong and unknown credentials are the same 401")
    func loginAndMe() async throws {
        try await withApplication { client, _ in
            let (status, tokens, _) = try await Self.login(client)
            #expect(status == .ok)
            let pair = try #require(tokens)
            #expect(pair.token_type == "Bearer" && pair.expires_in == 15 * 60)
            try await client.execute(
                uri: "/api/v1/auth/me", method: .get, headers: [.authorization: "Bearer \(pair.access_token)"]
            ) { response in
                #expect(response.status == .ok)
                let me = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(me?["username"] as? String == "admin" && me?["role"] as? String == "admin")
                #expect(me?["is_super_admin"] as? Bool == true)
            }
            let wrong = try await Self.login(client, password: "not the password at all")
            let unknown = try await Self.login(client, username: "nobody")
            #expect(wrong.0 == .unauthorized && wrong.2?.code == "invalid_credentials")
            #expect(unknown.0 == .unauthorized && unknown.2?.code == "invalid_credentials")
            #expect(try await Self.me(client, nil) == (.unauthorized, "missing_token"))
        }
    }

    @Test("tampered, alg none, wrong-secret, refresh-as-access and expired tokens are refused with 401")
    func badTokens() async throws {
        try await withApplication({ $0.security.accessTokenLifetime = .seconds(1) }) { client, _ in
            let pair = try #require(try await Self.login(client).1)
            let parts = pair.access_token.split(separator: ".").map(String.init)
            var payload = try #require(Data(base64URLEncoded: parts[1]))
            payload = Data(
                String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "\"admin\"", with: "\"kiosk\"").utf8)
            let tampered = [parts[0], Self.base64URL(payload), parts[2]].joined(separator: ".")
            let none = [Self.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)), parts[1], ""].joined(separator: ".")
            let otherKey = try await Self.signedWithOtherSecret(parts[1])
            for token in [tampered, none, otherKey, pair.refresh_token, "garbage"] {
                #expect(try await Self.me(client, token) == (.unauthorized, "invalid_token"), "accepted: \(token)")
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await Self.me(client, pair.access_token) == (.unauthorized, "invalid_token"))
        }
    }

    @Test("refresh rotates the pair; reusing a used refresh token revokes the whole session")
    func refreshRotationAndReuse() async throws {
        try await withApplication({ $0.security.refreshReuseGrace = .zero }) { client, _ in
            let first = try #require(try await Self.login(client).1)
            let (status, rotated) = try await Self.refresh(client, first.refresh_token)
            #expect(status == .ok)
            let second = try #require(rotated)
            #expect(second.refresh_token != first.refresh_token)
            #expect(try await Self.me(client, second.access_token).0 == .ok)

            // The first refresh token again: someone else has it. The session ends for everyone.
            #expect(try await Self.refresh(client, first.refresh_token).0 == .unauthorized)
            #expect(try await Self.refresh(client, second.refresh_token).0 == .unauthorized)
            #expect(try await Self.me(client, second.access_token) == (.unauthorized, "invalid_token"))
            // Another login still works.
            #expect(try await Self.login(client).0 == .ok)
        }
    }

    @Test("a refresh whose answer was lost may be sent again within the grace, and gets a new pair in place of it")
    func refreshGrace() async throws {
        // A grace no loaded machine outlasts between two calls.
        try await withApplication({ $0.security.refreshReuseGrace = .seconds(60) }) { client, _ in
            let first = try #require(try await Self.login(client).1)
            let lost = try #require(try await Self.refresh(client, first.refresh_token).1)  // never reached the kiosk
            let (status, again) = try await Self.refresh(client, first.refresh_token)
            #expect(status == .ok)
            let current = try #require(again)
            #expect(current.refresh_token != lost.refresh_token)
            #expect(try await Self.me(client, current.access_token).0 == .ok)
            // The pair that was lost gave way to the new one; the session goes on with it.
            let next = try #require(try await Self.refresh(client, current.refresh_token).1)
            #expect(try await Self.me(client, next.access_token).0 == .ok)
            // The first token, once more: its replacement has been used since, so this is reuse.
            #expect(try await Self.refresh(client, first.refresh_token).0 == .unauthorized)
            #expect(try await Self.me(client, next.access_token) == (.unauthorized, "invalid_token"))
        }
    }

    @Test(
        """
        a replay within the grace does not fork the session: the pair it replaces is dead, presenting that pair's token \
        ends the session for both, and every use of the grace is audited
        """)
    func refreshGraceDoesNotFork() async throws {
        try await withApplication({ $0.security.refreshReuseGrace = .seconds(60) }) { client, url in
            let first = try #require(try await Self.login(client).1)
            let owners = try #require(try await Self.refresh(client, first.refresh_token).1)
            // Someone with a copy of the first refresh token presents it within the grace: a pair, in place of the
            // owner's.
            let (status, copied) = try await Self.refresh(client, first.refresh_token)
            #expect(status == .ok)
            let copy = try #require(copied)
            // The owner's refresh token was replaced: presenting it is reuse, and the session ends for everyone.
            #expect(try await Self.refresh(client, owners.refresh_token).0 == .unauthorized)
            #expect(try await Self.refresh(client, copy.refresh_token).0 == .unauthorized)
            #expect(try await Self.me(client, copy.access_token) == (.unauthorized, "invalid_token"))
            #expect(try await Self.me(client, owners.access_token) == (.unauthorized, "invalid_token"))
            try await TestDatabase.withClient(url) { database in
                let rows = try await database.query(
                    """
                    SELECT (SELECT count(*)::int FROM audit_log WHERE action = 'refresh_token_grace_used'),
                           (SELECT count(*)::int FROM audit_log WHERE action = 'refresh_token_reused')
                    """, logger: TestDatabase.logger)
                for try await (graceUses, reuses) in rows.decode((Int, Int).self) {
                    #expect(graceUses == 1 && reuses == 1, "grace uses \(graceUses), reuses \(reuses)")
                }
            }
        }
    }

    @Test("past the grace, a replaced token is reuse even while its replacement is current: the session ends")
    func refreshGraceExpires() async throws {
        try await withApplication({ $0.security.refreshReuseGrace = .seconds(1) }) { client, _ in
            let first = try #require(try await Self.login(client).1)
            let successor = try #require(try await Self.refresh(client, first.refresh_token).1)
            try await Task.sleep(for: .seconds(2))
            #expect(try await Self.refresh(client, first.refresh_token).0 == .unauthorized)
            #expect(try await Self.refresh(client, successor.refresh_token).0 == .unauthorized)
            #expect(try await Self.me(client, successor.access_token) == (.unauthorized, "invalid_token"))
        }
    }

    @Test("logout ends the session at once; a disabled user is cut off on the next request")
    func logoutAndDisable() async throws {
        try await withApplication { client, url in
            let session = try #require(try await Self.login(client).1)
            try await client.execute(
                uri: "/api/v1/auth/logout", method: .post, headers: [.authorization: "Bearer \(session.access_token)"]
            ) { #expect($0.status == .noContent) }
            #expect(try await Self.me(client, session.access_token).0 == .unauthorized)
            #expect(try await Self.refresh(client, session.refresh_token).0 == .unauthorized)

            let other = try #require(try await Self.login(client).1)
            #expect(try await Self.me(client, other.access_token).0 == .ok)
            try await TestDatabase.withClient(url) { db in
                try await db.query(
                    "UPDATE users SET disabled = true WHERE username = 'admin'", logger: TestDatabase.logger)
            }
            #expect(try await Self.me(client, other.access_token) == (.unauthorized, "invalid_token"))
            #expect(try await Self.login(client).2?.code == "invalid_credentials")
        }
    }

    static func base64URL(_ data: Data) -> String { data.base64URLEncodedString }

    /// `payload` (base64url) signed with HS256 under a secret that is not the service's.
    static func signedWithOtherSecret(_ payload: String) async throws -> String {
        let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let input = header + "." + payload
        let key = SymmetricKey(data: Data(String(repeating: "x", count: 40).utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: key)
        return input + "." + base64URL(Data(signature))
    }
}
