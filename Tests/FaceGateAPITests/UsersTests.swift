import Foundation
import HummingbirdTesting
import PostgresNIO
import TestSupport
import Testing

@Suite("Organisations, users and roles", .requiresDatabase)
struct UsersTests {
    static let password = "a long enough password"

    @Test("the super admin creates organisations and their admins; others may not")
    func organisations() async throws {
        try await withApplication { client, _ in
            let root = try await client.accessToken()
            let (status, created) = try await client.json(
                .post, "/api/v1/organizations", token: root, body: ["name": "Gym B"])
            #expect(status == .created)
            let orgB = try #require(created["id"] as? String)
            #expect(
                try await client.json(.post, "/api/v1/organizations", token: root, body: ["name": "gym b"]).status
                    == .conflict)
            let listed = try await client.json(.get, "/api/v1/organizations", token: root)
            #expect((listed.body["organizations"] as? [[String: Any]])?.count == 2)

            let admin = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "b-admin", "password": Self.password, "role": "admin", "organization_id": orgB,
                ])
            #expect(admin.status == .created && admin.body["organization_id"] as? String == orgB)
            let bToken = try await client.accessToken(username: "b-admin", password: Self.password)
            let refused = try await client.json(.post, "/api/v1/organizations", token: bToken, body: ["name": "Gym C"])
            #expect(refused.status == .forbidden && refused.body["code"] as? String == "forbidden")
            // B's admin sees only B's accounts, and not the super admin's.
            let users = try await client.json(.get, "/api/v1/users", token: bToken)
            #expect((users.body["users"] as? [[String: Any]])?.map { $0["username"] as? String } == ["b-admin"])
            let rootID = try #require(try await client.json(.get, "/api/v1/auth/me", token: root).body["id"] as? String)
            #expect(try await client.json(.get, "/api/v1/users/\(rootID)", token: bToken).status == .notFound)
            #expect(try await client.json(.delete, "/api/v1/users/\(rootID)", token: bToken).status == .notFound)
        }
    }

    @Test(
        "an admin of the super admin's organisation cannot change, disable or delete the super admin, nor see it is one"
    )
    func superAdminIsProtected() async throws {
        try await withApplication { client, url in
            let root = try await client.accessToken()
            let rootID = try #require(try await client.json(.get, "/api/v1/auth/me", token: root).body["id"] as? String)
            let created = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "gym-admin", "password": Self.password, "role": "admin",
                ])
            #expect(created.status == .created && created.body["is_super_admin"] as? Bool == false)
            let admin = try await client.accessToken(username: "gym-admin", password: Self.password)
            for change: [String: Any] in [
                ["password": "a new password the attacker knows"], ["disabled": true],
                ["email": "attacker@example.org"], ["role": "operator"],
            ] {
                let refused = try await client.json(.patch, "/api/v1/users/\(rootID)", token: admin, body: change)
                #expect(refused.status == .forbidden && refused.body["code"] as? String == "forbidden", "\(change)")
            }
            let deleted = try await client.json(.delete, "/api/v1/users/\(rootID)", token: admin)
            #expect(deleted.status == .forbidden)
            // The super admin is untouched: it still signs in with its password and is not disabled.
            #expect(try await client.json(.get, "/api/v1/auth/me", token: try await client.accessToken()).status == .ok)
            // The tenant admin sees the account, not that it is the super admin's.
            let listed = try #require(
                try await client.json(.get, "/api/v1/users", token: admin).body["users"] as? [[String: Any]])
            #expect(!listed.isEmpty && listed.allSatisfy { $0["is_super_admin"] == nil })
            #expect(try await client.json(.get, "/api/v1/users/\(rootID)", token: admin).body["is_super_admin"] == nil)
            // The super admin still changes its own account, and cannot stop being an admin.
            #expect(
                try await client.json(
                    .patch, "/api/v1/users/\(rootID)", token: root, body: ["email": "root@example.org"]
                )
                .status == .ok)
            let demoted = try await client.json(
                .patch, "/api/v1/users/\(rootID)", token: root, body: ["role": "operator"])
            #expect(demoted.status == .conflict && demoted.body["code"] as? String == "cannot_change_own_access")
            // Admins still manage each other: the same privilege.
            let other = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "gym-admin-2", "password": Self.password, "role": "admin",
                ])
            let otherID = try #require(other.body["id"] as? String)
            #expect(
                try await client.json(.patch, "/api/v1/users/\(otherID)", token: admin, body: ["disabled": true]).status
                    == .ok)
            // A second super admin (made in the database: the API makes none) stays an admin when another changes it.
            try await TestDatabase.withClient(url) { database in
                try await database.query(
                    "UPDATE users SET is_super_admin = true, disabled = false WHERE id = \(UUID(uuidString: otherID)!)",
                    logger: TestDatabase.logger)
            }
            let superDemoted = try await client.json(
                .patch, "/api/v1/users/\(otherID)", token: root, body: ["role": "operator"])
            #expect(superDemoted.status == .conflict && superDemoted.body["code"] as? String == "super_admin_is_admin")
        }
    }

    @Test("an email another account of the organisation has is 409 duplicate_email, created or changed")
    func duplicateEmail() async throws {
        try await withApplication { client, _ in
            let root = try await client.accessToken()
            let first = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "desk-1", "password": Self.password, "role": "operator", "email": "desk@example.org",
                ])
            #expect(first.status == .created)
            let again = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "desk-2", "password": Self.password, "role": "operator", "email": "DESK@example.org",
                ])
            #expect(again.status == .conflict && again.body["code"] as? String == "duplicate_email", "\(again)")
            let second = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "desk-2", "password": Self.password, "role": "operator", "email": "other@example.org",
                ])
            let secondID = try #require(second.body["id"] as? String)
            let changed = try await client.json(
                .patch, "/api/v1/users/\(secondID)", token: root,
                body: ["email": "desk@example.org"])
            #expect(changed.status == .conflict && changed.body["code"] as? String == "duplicate_email", "\(changed)")
            let taken = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "DESK-1", "password": Self.password, "role": "operator",
                ])
            #expect(taken.status == .conflict && taken.body["code"] as? String == "duplicate_username")
        }
    }

    @Test(
        """
        a username taken in another organisation is refused exactly as one taken in one's own, and an organisation's \
        refusals are limited: then every account creation waits, taken name or free
        """)
    func usernameOfAnotherOrganisation() async throws {
        try await withApplication { client, _ in
            let root = try await client.accessToken()
            let orgB = try #require(
                try await client.json(.post, "/api/v1/organizations", token: root, body: ["name": "Gym B"])
                    .body["id"] as? String)
            #expect(
                try await client.json(
                    .post, "/api/v1/users", token: root,
                    body: [
                        "username": "b-admin", "password": Self.password, "role": "admin", "organization_id": orgB,
                    ]
                ).status == .created)
            let bAdmin = try await client.accessToken(username: "b-admin", password: Self.password)
            #expect(
                try await client.json(
                    .post, "/api/v1/users", token: bAdmin,
                    body: [
                        "username": "b-desk", "password": Self.password, "role": "operator",
                    ]
                ).status == .created)
            // "Admin" is the super admin's, in another organisation; "B-Desk" is B's own. The answers are the same.
            let theirs = try await client.json(
                .post, "/api/v1/users", token: bAdmin,
                body: [
                    "username": "Admin", "password": Self.password, "role": "operator",
                ])
            let own = try await client.json(
                .post, "/api/v1/users", token: bAdmin,
                body: [
                    "username": "B-Desk", "password": Self.password, "role": "operator",
                ])
            #expect(theirs.status == .conflict && theirs.body["code"] as? String == "duplicate_username", "\(theirs)")
            #expect(
                own.status == theirs.status && own.body["code"] as? String == theirs.body["code"] as? String
                    && own.body["detail"] as? String == theirs.body["detail"] as? String, "\(own) / \(theirs)")
            // Asking name after name meets the organisation's limit on refusals (10, then one a minute)...
            var refusals = 2
            var status = theirs.status
            while status == .conflict && refusals < 20 {
                status = try await client.json(
                    .post, "/api/v1/users", token: bAdmin,
                    body: [
                        "username": "admin", "password": Self.password, "role": "operator",
                    ]
                ).status
                if status == .conflict { refusals += 1 }
            }
            #expect(status == .tooManyRequests && refusals >= 10, "\(status) after \(refusals) refusals")
            // ...after which a free name waits too: the answer says nothing about the name.
            let free = try await client.json(
                .post, "/api/v1/users", token: bAdmin,
                body: [
                    "username": "b-free", "password": Self.password, "role": "operator",
                ])
            #expect(free.status == .tooManyRequests && free.body["code"] as? String == "rate_limited", "\(free)")
            // Another organisation is not held up.
            #expect(
                try await client.json(
                    .post, "/api/v1/users", token: root,
                    body: [
                        "username": "root-desk", "password": Self.password, "role": "operator",
                    ]
                ).status == .created)
        }
    }

    @Test("a password longer than the 72 bytes bcrypt reads is refused; a failed login stores no typed text")
    func passwordLengthAndFailedLoginAudit() async throws {
        try await withApplication { client, url in
            let root = try await client.accessToken()
            let long = String(repeating: "é", count: 37)  // 37 characters, 74 bytes
            let refused = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "long-password", "password": long, "role": "operator",
                ])
            #expect(refused.status == .badRequest && refused.body["code"] as? String == "invalid_field")
            let fits = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "long-password", "password": String(long.dropLast()), "role": "operator",
                ])
            #expect(fits.status == .created)
            // Someone types a password into the username field; another mistypes a real account's password.
            _ = try await client.json(
                .post, "/api/v1/auth/login", body: ["username": "Secret-Typed-In", "password": "x"])
            _ = try await client.json(
                .post, "/api/v1/auth/login", body: ["username": "long-password", "password": "wrong one"])
            let accountID = try #require(fits.body["id"] as? String).lowercased()
            try await TestDatabase.withClient(url) { database in
                let rows = try await database.query(
                    "SELECT actor_user_id::text, target FROM audit_log WHERE action = 'login_failed' ORDER BY id",
                    logger: TestDatabase.logger)
                var entries: [(String?, String?)] = []
                for try await entry in rows.decode((String?, String?).self) { entries.append(entry) }
                #expect(entries.count == 2)
                #expect(entries.first.map { $0.0 == nil && $0.1 == nil } == true, "\(entries)")
                #expect(entries.last.map { $0.0 == accountID && $0.1?.lowercased() == accountID } == true, "\(entries)")
            }
        }
    }

    @Test("every change is audited by the statement that makes it, with its actor; a change refused leaves no entry")
    func changesAudited() async throws {
        try await withApplication { client, url in
            let root = try await client.accessToken()
            let me = try #require(try await client.json(.get, "/api/v1/auth/me", token: root).body["id"] as? String)
            #expect(
                try await client.json(.post, "/api/v1/organizations", token: root, body: ["name": "Audit Gym"]).status
                    == .created)
            let user = try #require(
                try await client.json(
                    .post, "/api/v1/users", token: root,
                    body: [
                        "username": "audited", "password": "a long enough password", "role": "operator",
                    ]
                ).body["id"] as? String)
            #expect(
                try await client.json(.patch, "/api/v1/users/\(user)", token: root, body: ["disabled": true]).status
                    == .ok)
            #expect(try await client.json(.delete, "/api/v1/users/\(user)", token: root).status == .noContent)
            let member = try #require(
                try await client.json(.post, "/api/v1/members", token: root, body: ["name": "Ada"])
                    .body["id"] as? String)
            #expect(
                try await client.json(.patch, "/api/v1/members/\(member)", token: root, body: ["name": "Ada K"]).status
                    == .ok)
            // Refused changes: a user or member that does not exist, a duplicate organisation.
            #expect(
                try await client.json(.patch, "/api/v1/users/\(UUID())", token: root, body: ["disabled": true]).status
                    == .notFound)
            #expect(
                try await client.json(.patch, "/api/v1/members/\(UUID())", token: root, body: ["name": "X"]).status
                    == .notFound)
            #expect(
                try await client.json(.post, "/api/v1/organizations", token: root, body: ["name": "audit gym"]).status
                    == .conflict)
            try await TestDatabase.withClient(url) { database in
                let rows = try await database.query(
                    """
                    SELECT action, actor_user_id::text, lower(target) FROM audit_log
                    WHERE action IN ('organization_created', 'user_created', 'user_updated', 'user_deleted', 'member_updated')
                    ORDER BY id
                    """, logger: TestDatabase.logger)
                var entries: [String] = []
                for try await (action, actor, target) in rows.decode((String, String?, String?).self) {
                    #expect(actor == me.lowercased(), "\(action) by \(actor ?? "nobody")")
                    entries.append("\(action) \(target ?? "")")
                }
                #expect(
                    entries == [
                        "organization_created audit gym", "user_created \(user)", "user_updated \(user)",
                        "user_deleted \(user)", "member_updated \(member)",
                    ], "\(entries)")
            }
        }
    }

    @Test("operators and kiosks cannot manage users; bad fields are 400 with a code; duplicates are 409")
    func roles() async throws {
        try await withApplication { client, _ in
            let root = try await client.accessToken()
            for role in ["operator", "kiosk"] {
                let made = try await client.json(
                    .post, "/api/v1/users", token: root,
                    body: [
                        "username": "desk-\(role)", "password": Self.password, "role": role,
                    ])
                #expect(made.status == .created)
                let token = try await client.accessToken(username: "desk-\(role)", password: Self.password)
                #expect(try await client.json(.get, "/api/v1/users", token: token).status == .forbidden)
                let attempt = try await client.json(
                    .post, "/api/v1/users", token: token,
                    body: [
                        "username": "sneaky", "password": Self.password, "role": "admin",
                    ])
                #expect(attempt.status == .forbidden)
            }
            let weak = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "weak", "password": "short", "role": "operator",
                ])
            #expect(weak.status == .badRequest && weak.body["code"] as? String == "invalid_field")
            let badRole = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "x", "password": Self.password, "role": "owner",
                ])
            #expect(badRole.status == .badRequest)
            let again = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "DESK-kiosk", "password": Self.password, "role": "kiosk",
                ])
            #expect(again.status == .conflict && again.body["code"] as? String == "duplicate_username")
            let malformed = try await client.json(.post, "/api/v1/users", token: root, body: ["username": 7])
            #expect(malformed.status == .badRequest)
        }
    }

    @Test(
        """
        one's own password changes only with the current one, and ends the account's other sessions but not this one; \
        an admin resets another account's password without it, and that account's sessions end
        """)
    func passwordChange() async throws {
        try await withApplication { client, _ in
            let root = try await client.accessToken()
            let other = try #require(try await AuthTests.login(client).1)  // another session of the same account
            let me = try #require(try await client.json(.get, "/api/v1/auth/me", token: root).body["id"] as? String)
            let newPassword = "a brand new password"
            // A stolen access token alone does not make the account the thief's.
            let bare = try await client.json(
                .patch, "/api/v1/users/\(me)", token: root, body: ["password": newPassword])
            #expect(bare.status == .badRequest && bare.body["code"] as? String == "invalid_field", "\(bare)")
            let wrong = try await client.json(
                .patch, "/api/v1/users/\(me)", token: root,
                body: [
                    "password": newPassword, "current_password": "not the password at all",
                ])
            #expect(wrong.status == .forbidden && wrong.body["code"] as? String == "wrong_password", "\(wrong)")
            #expect(try await AuthTests.login(client, password: newPassword).0 == .unauthorized)
            let changed = try await client.json(
                .patch, "/api/v1/users/\(me)", token: root,
                body: [
                    "password": newPassword, "current_password": "correct horse battery staple",
                ])
            #expect(changed.status == .ok, "\(changed)")
            // This session goes on; the other one has ended.
            #expect(try await client.json(.get, "/api/v1/auth/me", token: root).status == .ok)
            #expect(try await AuthTests.me(client, other.access_token) == (.unauthorized, "invalid_token"))
            #expect(try await AuthTests.refresh(client, other.refresh_token).0 == .unauthorized)
            #expect(try await AuthTests.login(client, password: newPassword).0 == .ok)

            // An admin resetting another account's password needs no current password; its sessions end.
            let made = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "desk", "password": Self.password, "role": "operator",
                ])
            let desk = try #require(made.body["id"] as? String)
            let deskToken = try await client.accessToken(username: "desk", password: Self.password)
            let reset = try await client.json(
                .patch, "/api/v1/users/\(desk)", token: root, body: ["password": newPassword])
            #expect(reset.status == .ok, "\(reset)")
            #expect(try await AuthTests.me(client, deskToken) == (.unauthorized, "invalid_token"))
            #expect(try await client.accessToken(username: "desk", password: newPassword).isEmpty == false)
        }
    }

    @Test("disabling or deleting an account cuts its tokens off at once; nobody disables themselves")
    func disableAndDelete() async throws {
        try await withApplication { client, _ in
            let root = try await client.accessToken()
            let made = try await client.json(
                .post, "/api/v1/users", token: root,
                body: [
                    "username": "temp", "password": Self.password, "role": "operator",
                ])
            let id = try #require(made.body["id"] as? String)
            let token = try await client.accessToken(username: "temp", password: Self.password)
            #expect(try await client.json(.get, "/api/v1/auth/me", token: token).status == .ok)

            let disabled = try await client.json(.patch, "/api/v1/users/\(id)", token: root, body: ["disabled": true])
            #expect(disabled.status == .ok && disabled.body["disabled"] as? Bool == true)
            #expect(try await client.json(.get, "/api/v1/auth/me", token: token).status == .unauthorized)
            #expect(
                try await client.json(.patch, "/api/v1/users/\(id)", token: root, body: ["disabled": false]).status
                    == .ok)
            let again = try await client.accessToken(username: "temp", password: Self.password)
            #expect(try await client.json(.delete, "/api/v1/users/\(id)", token: root).status == .noContent)
            #expect(try await client.json(.get, "/api/v1/auth/me", token: again).status == .unauthorized)
            #expect(try await client.json(.get, "/api/v1/users/\(id)", token: root).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/users/not-a-uuid", token: root).status == .notFound)

            let me = try #require(try await client.json(.get, "/api/v1/auth/me", token: root).body["id"] as? String)
            let selfDisable = try await client.json(
                .patch, "/api/v1/users/\(me)", token: root, body: ["disabled": true])
            #expect(selfDisable.status == .conflict)
        }
    }
}
