import PostgresNIO
import Storage
import TestSupport
import Testing

@Suite("Super admin bootstrap", .requiresDatabase) struct SuperAdminTests {
    let logger = TestDatabase.logger

    @Test("is created once from credentials, and its absence without credentials stops start-up")
    func createdOnce() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                try await Migrator().migrate(client, logger: logger)
                let users = UserStore(database: TestDatabase.database(client), logger: logger)
                await #expect(throws: StorageError.missingSuperAdminCredentials) {
                    try await users.ensureSuperAdmin(nil, passwordHash: nil)
                }
                let credentials = UserStore.SuperAdminCredentials(
                    username: "root-admin", password: "a long enough password", email: "root@example.org")
                #expect(try await users.ensureSuperAdmin(credentials, passwordHash: "$2b$04$opaque-to-storage"))
                #expect(
                    try await users.ensureSuperAdmin(credentials, passwordHash: "$2b$04$opaque-to-storage") == false)
                #expect(try await users.ensureSuperAdmin(nil, passwordHash: nil) == false)

                let rows = try await client.query(
                    "SELECT username, password_hash, role FROM users WHERE is_super_admin", logger: logger)
                var found = 0
                for try await (username, hash, role) in rows.decode((String, String, String).self) {
                    found += 1
                    #expect(username == "root-admin")
                    #expect(role == "admin")
                    // Storage keeps the hash it is given (hashing is the runtime's: FaceGateRuntime/Passwords).
                    #expect(hash == "$2b$04$opaque-to-storage")
                }
                #expect(found == 1)
            }
        }
    }
}
