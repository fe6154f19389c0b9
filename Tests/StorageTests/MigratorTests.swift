import Logging
import PostgresNIO
import Storage
import TestSupport
import Testing

@Suite("Migrations", .requiresDatabase) struct MigratorTests {
    let logger = TestDatabase.logger

    @Test("apply to an empty database, create pgvector, and are idempotent")
    func appliesOnceAndIsIdempotent() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let first = try await Migrator().migrate(client, logger: logger)
                #expect(first == Migration.all.map(\.version))
                let second = try await Migrator().migrate(client, logger: logger)
                #expect(second.isEmpty)
                // A generous timeout: the subject is the version read, and `swift test` runs every suite at once.
                let status = try await DatabaseStatus.probe(client, timeout: .seconds(60), logger: logger)
                #expect(status.schemaIsCurrent)
                #expect(status.pgvectorVersion?.hasPrefix("0.") == true)
                let rows = try await client.query("SELECT count(*) FROM schema_migrations", logger: logger)
                for try await count in rows.decode(Int.self) { #expect(count == Migration.all.count) }
            }
        }
    }

    @Test("two migrators starting at once apply each migration exactly once")
    func concurrentMigratorsApplyOnce() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { first in
                try await TestDatabase.withClient(url) { second in
                    async let a = Migrator().migrate(first, logger: logger)
                    async let b = Migrator().migrate(second, logger: logger)
                    let (appliedA, appliedB) = try await (a, b)
                    #expect((appliedA + appliedB).sorted() == Migration.all.map(\.version))
                    #expect(appliedA.isEmpty || appliedB.isEmpty)
                }
            }
        }
    }

    @Test("an older pgvector in the database is updated to the installed library at start")
    func updatesOlderPgvector() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                // A cluster created under older binaries (pgvector 0.8.2) keeps that version in its catalogue until
                // the extension is updated; pgvector's update scripts from 0.8.2 on change no SQL definition, so the
                // catalogue entry is all that differs (the test cluster's user is its superuser).
                try await client.query("CREATE EXTENSION vector", logger: logger)
                try await client.query(
                    "UPDATE pg_extension SET extversion = '0.8.2' WHERE extname = 'vector'", logger: logger)
                try await Migrator().migrate(client, logger: logger)
                let rows = try await client.query(
                    """
                    SELECT e.extversion, a.default_version FROM pg_extension e
                    JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'vector'
                    """, logger: logger)
                var versions: [(String, String)] = []
                for try await row in rows.decode((String, String).self) { versions.append(row) }
                #expect(versions.count == 1)
                #expect(versions.first.map { $0.0 == $0.1 && $0.0 != "0.8.2" } == true)
            }
        }
    }

    @Test("a database newer than the code is refused")
    func refusesNewerSchema() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                try await Migrator().migrate(client, logger: logger)
                try await client.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')", logger: logger)
                await #expect(throws: StorageError.schemaNewerThanCode(database: 9999, code: Migration.latestVersion)) {
                    try await Migrator().migrate(client, logger: logger)
                }
            }
        }
    }

    @Test("the probe reports an unmigrated database as schema version 0")
    func probeBeforeMigrations() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                // A generous timeout: the subject is the version read, and `swift test` runs every suite at once.
                let status = try await DatabaseStatus.probe(client, timeout: .seconds(60), logger: logger)
                #expect(status.schemaVersion == 0)
                #expect(!status.schemaIsCurrent)
            }
        }
    }
}
