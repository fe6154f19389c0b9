import Foundation
import HummingbirdTesting
import TestSupport
import Testing

@Suite("Members", .requiresDatabase)
struct MembersTests {
    @Test("create, read, update, search with paging, erase; external_id unique per organisation")
    func crud() async throws {
        try await withApplication { client, _ in
            let token = try await client.accessToken()
            let (status, ada) = try await client.json(
                .post, "/api/v1/members", token: token,
                body: [
                    "name": "Ada Lovelace", "external_id": "M-1", "email": "ada@example.org",
                    "metadata": ["plan": "gold"],
                ])
            #expect(status == .created)
            #expect((ada["metadata"] as? [String: Any])?["plan"] as? String == "gold" && ada["face_count"] as? Int == 0)
            let duplicate = try await client.json(
                .post, "/api/v1/members", token: token, body: ["name": "Other", "external_id": "M-1"])
            #expect(duplicate.status == .conflict && duplicate.body["code"] as? String == "duplicate_external_id")
            for i in 0..<5 {
                #expect(
                    try await client.json(.post, "/api/v1/members", token: token, body: ["name": "Member \(i)"]).status
                        == .created)
            }
            var names: [String] = []
            var cursor: String?
            repeat {
                let uri = "/api/v1/members?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.json(.get, uri, token: token)
                #expect(page.status == .ok)
                names += (page.body["members"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                cursor = page.body["next_cursor"] as? String
            } while cursor != nil
            #expect(names == ["Ada Lovelace", "Member 0", "Member 1", "Member 2", "Member 3", "Member 4"])
            let found = try await client.json(.get, "/api/v1/members?q=LOVE", token: token)
            #expect((found.body["members"] as? [[String: Any]])?.count == 1)
            let nothing = try await client.json(.get, "/api/v1/members?q=%25", token: token)
            #expect((nothing.body["members"] as? [[String: Any]])?.isEmpty == true)
            #expect(try await client.json(.get, "/api/v1/members?limit=0", token: token).status == .badRequest)
            #expect(try await client.json(.get, "/api/v1/members?cursor=nonsense", token: token).status == .badRequest)

            let id = try #require(ada["id"] as? String)
            // Ids leave the service in lowercase and are read in any case.
            #expect(UUID(uuidString: id) != nil && id == id.lowercased())
            #expect(
                try await client.json(.get, "/api/v1/members/\(id.uppercased())", token: token).body["id"] as? String
                    == id)
            // The spaces a form leaves around the name, the email, the status and a date go, as in the import.
            let patched = try await client.json(
                .patch, "/api/v1/members/\(id)", token: token,
                body: [
                    "name": " Ada King ", "email": " ada@king.example.org ", "status": " paused ",
                    "valid_until": " 2030-01-31 ",
                ])
            #expect(
                patched.status == .ok && patched.body["name"] as? String == "Ada King"
                    && patched.body["external_id"] as? String == "M-1")
            #expect(
                patched.body["email"] as? String == "ada@king.example.org"
                    && patched.body["status"] as? String == "paused"
                    && patched.body["valid_until"] as? String == "2030-01-31", "\(patched.body)")
            #expect(try await client.json(.delete, "/api/v1/members/\(id)", token: token).status == .noContent)
            #expect(try await client.json(.get, "/api/v1/members/\(id)", token: token).status == .notFound)
            #expect(try await client.json(.delete, "/api/v1/members/\(id)", token: token).status == .notFound)
        }
    }

    @Test("a kiosk may not touch members; another organisation's members do not exist for you")
    func isolation() async throws {
        try await withApplication { client, _ in
            let root = try await client.accessToken()
            let member = try await client.json(
                .post, "/api/v1/members", token: root, body: ["name": "Grace", "external_id": "G"])
            let id = try #require(member.body["id"] as? String)
            let orgB = try #require(
                try await client.json(.post, "/api/v1/organizations", token: root, body: ["name": "B"]).body["id"]
                    as? String)
            for (name, role, org) in [("kiosk-a", "kiosk", nil), ("admin-b", "admin", orgB)]
                as [(String, String, String?)]
            {
                var body: [String: Any] = ["username": name, "password": "a long enough password", "role": role]
                if let org { body["organization_id"] = org }
                #expect(try await client.json(.post, "/api/v1/users", token: root, body: body).status == .created)
            }
            let kiosk = try await client.accessToken(username: "kiosk-a", password: "a long enough password")
            #expect(
                try await client.json(.post, "/api/v1/members", token: kiosk, body: ["name": "X"]).status == .forbidden)
            #expect(try await client.json(.get, "/api/v1/members", token: kiosk).status == .forbidden)
            let adminB = try await client.accessToken(username: "admin-b", password: "a long enough password")
            #expect(try await client.json(.get, "/api/v1/members/\(id)", token: adminB).status == .notFound)
            #expect(
                try await client.json(.patch, "/api/v1/members/\(id)", token: adminB, body: ["name": "Y"]).status
                    == .notFound)
            #expect(try await client.json(.delete, "/api/v1/members/\(id)", token: adminB).status == .notFound)
            // The same external id is free in another organisation.
            #expect(
                try await client.json(
                    .post, "/api/v1/members", token: adminB, body: ["name": "Grace B", "external_id": "G"]
                ).status == .created)
            #expect(
                (try await client.json(.get, "/api/v1/members", token: adminB).body["members"] as? [[String: Any]])?
                    .count == 1)
            #expect(try await client.json(.get, "/api/v1/members/\(id)", token: root).status == .ok)
        }
    }
}
