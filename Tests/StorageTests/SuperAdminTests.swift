import PostgresNIO
import Storage
import TestSupport
import Testing

@Suite("Super admin bootstrap") struct SuperAdminTests {
    let logger = TestDatabase.logger

    @Test("is created once from credentials, and its absence without credentials stops start-up")
    func createdOnce() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                try await Migrator().migrate(client, logger: logger)
                let users = UserStore(database: TestDatabase.database(client), logger: logger)
                await #expect(throws: StorageError.missingSuperAdminCredentials) {
                    try await users.ensureSuperAdmin(nil, bcryptCost: 4)
                }
                let credentials = UserStore.SuperAdminCredentials(
                    username: "root-admin", password: "a long enough password", email: "root@example.org")
                #expect(try await users.ensureSuperAdmin(credentials, bcryptCost: 4))
                #expect(try await users.ensureSuperAdmin(credentials, bcryptCost: 4) == false)
                #expect(try await users.ensureSuperAdmin(nil, bcryptCost: 4) == false)

                let rows = try await client.query(
                    "SELECT username, password_hash, role FROM users WHERE is_super_admin", logger: logger)
                var found = 0
                for try await (username, hash, role) in rows.decode((String, String, String).self) {
                    found += 1
                    #expect(username == "root-admin")
                    #expect(role == "admin")
                    #expect(hash != "a long enough password")
                    #expect(try await verifyPassword("a long enough password", hash: hash))
                    #expect(try await verifyPassword("wrong", hash: hash) == false)
                }
                #expect(found == 1)
            }
        }
    }
}
