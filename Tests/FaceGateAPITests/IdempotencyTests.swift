import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import TestSupport
import Testing

/// `Idempotency-Key`: a retried write gets the first answer instead of doing the work twice.
@Suite("Idempotent writes", .requiresDatabase)
struct IdempotencyTests {
    static func createMember(
        _ client: any TestClientProtocol, token: String, key: String?, name: String, fields: [String: Any] = [:]
    ) async throws -> (status: HTTPResponse.Status, body: [String: Any], replayed: Bool) {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        let member = (["name": name, "external_id": "x-\(name)"] as [String: Any]).merging(fields) { first, _ in first }
        let body = ByteBuffer(data: try JSONSerialization.data(withJSONObject: member))
        return try await client.execute(uri: "/api/v1/members", method: .post, headers: headers, body: body) {
            response in
            (
                response.status,
                ((try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]) ?? [:],
                response.headers[HTTPField.Name("Idempotent-Replayed")!] == "true"
            )
        }
    }

    @Test(
        "a member created twice with one key is created once, with one audit entry; another request with the key is 422"
    )
    func memberCreation() async throws {
        try await withApplication { client, url in
            let admin = try await client.accessToken()
            let first = try await Self.createMember(client, token: admin, key: "retry-1", name: "Ada")
            let again = try await Self.createMember(client, token: admin, key: "retry-1", name: "Ada")
            #expect(first.status == .created && !first.replayed)
            #expect(
                again.status == .created && again.replayed
                    && again.body["id"] as? String == first.body["id"] as? String,
                "\(again.status) \(again.body)")
            // Without a key a retry is a new request: here a conflict on the external id.
            #expect(try await Self.createMember(client, token: admin, key: nil, name: "Ada").status == .conflict)
            let reused = try await Self.createMember(client, token: admin, key: "retry-1", name: "Grace")
            #expect(
                reused.status == .unprocessableContent && reused.body["code"] as? String == "idempotency_key_reused")
            // A refusal is an answer too: replayed, not run again.
            let refused = try await Self.createMember(client, token: admin, key: "retry-2", name: "Ada")
            let refusedAgain = try await Self.createMember(client, token: admin, key: "retry-2", name: "Ada")
            #expect(
                refused.status == .conflict && refusedAgain.status == .conflict && refusedAgain.replayed,
                "\(refused.status) \(refused.body) / \(refusedAgain.status) \(refusedAgain.body)")
            #expect(
                try await Self.createMember(client, token: admin, key: String(repeating: "k", count: 201), name: "B")
                    .body["code"] as? String == "invalid_idempotency_key")
            try await TestDatabase.withClient(url) { database in
                let rows = try await database.query(
                    """
                    SELECT (SELECT count(*)::int FROM members WHERE name = 'Ada'),
                           (SELECT count(*)::int FROM audit_log WHERE action = 'member_created')
                    """, logger: TestDatabase.logger)
                for try await (members, audits) in rows.decode((Int, Int).self) {
                    #expect(members == 1 && audits == 1)
                }
            }
        }
    }

    @Test(
        """
        erasing a member erases the answers kept about them: replaying the key that created them is 410 member_erased \
        with nothing of theirs, and creates nobody; another member's kept answer stays
        """)
    func erasedMemberAnswers() async throws {
        try await withApplication { client, url in
            let admin = try await client.accessToken()
            let ada = try await Self.createMember(
                client, token: admin, key: "new-ada", name: "Ada",
                fields: [
                    "email": "ada@example.org", "metadata": ["plan": "gold-secret"],
                ])
            let grace = try await Self.createMember(client, token: admin, key: "new-grace", name: "Grace")
            let id = try #require(ada.body["id"] as? String)
            #expect(ada.status == .created && grace.status == .created)
            #expect(try await client.json(.delete, "/api/v1/members/\(id)", token: admin).status == .noContent)
            let replay = try await Self.createMember(
                client, token: admin, key: "new-ada", name: "Ada",
                fields: [
                    "email": "ada@example.org", "metadata": ["plan": "gold-secret"],
                ])
            #expect(
                replay.status == .gone && replay.replayed && replay.body["code"] as? String == "member_erased",
                "\(replay)")
            let shown = "\(replay.body)"
            for personal in ["Ada", "ada@example.org", "gold-secret", id] {
                #expect(!shown.contains(personal), "\(personal) in \(shown)")
            }
            let graceAgain = try await Self.createMember(client, token: admin, key: "new-grace", name: "Grace")
            #expect(
                graceAgain.status == .created && graceAgain.replayed
                    && graceAgain.body["id"] as? String == grace.body["id"] as? String)
            // Nothing of theirs is left in the kept answers, and nobody was created again.
            try await TestDatabase.withClient(url) { database in
                let rows = try await database.query(
                    """
                    SELECT (SELECT count(*)::int FROM idempotency_keys
                            WHERE position(convert_to('ada@example.org', 'UTF8') IN body) > 0
                               OR position(convert_to('gold-secret', 'UTF8') IN body) > 0
                               OR position(convert_to(\(id), 'UTF8') IN body) > 0),
                           (SELECT count(*)::int FROM members WHERE name = 'Ada')
                    """, logger: TestDatabase.logger)
                for try await (answers, members) in rows.decode((Int, Int).self) {
                    #expect(answers == 0 && members == 0, "answers \(answers), members \(members)")
                }
            }
        }
    }

    @Test("keys are per account: the same key of another account is its own")
    func perAccount() async throws {
        try await withApplication { client, _ in
            let admin = try await client.accessToken()
            _ = try await client.json(
                .post, "/api/v1/users", token: admin,
                body: [
                    "username": "desk", "password": "a long enough password", "role": "operator",
                ])
            let desk = try await client.accessToken(username: "desk", password: "a long enough password")
            let mine = try await Self.createMember(client, token: admin, key: "same-key", name: "One")
            let theirs = try await Self.createMember(client, token: desk, key: "same-key", name: "Two")
            #expect(mine.status == .created && theirs.status == .created && !theirs.replayed)
            #expect(mine.body["id"] as? String != theirs.body["id"] as? String)
        }
    }
}
