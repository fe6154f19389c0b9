import Crypto
import Foundation
import Gallery
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage
import TestSupport

/// A migrated database of the test's own with one organisation, and helpers to run gallery instances on it.
struct GalleryFixture: Sendable {
    let url: String
    let client: PostgresClient
    let organization: UUID
    var logger: Logger { TestDatabase.logger }
    var store: FaceStore {
        FaceStore(database: TestDatabase.database(client), logger: logger, templates: TestDatabase.templateKeys)
    }
    var members: MemberStore { MemberStore(database: TestDatabase.database(client), logger: logger) }

    static func with<T: Sendable>(_ body: @escaping @Sendable (GalleryFixture) async throws -> T) async throws -> T {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                try await describingDatabaseErrors("migrations") {
                    try await Migrator().migrate(client, logger: TestDatabase.logger)
                }
                let organization = try await OrganizationStore(
                    database: TestDatabase.database(client), logger: TestDatabase.logger
                )
                .create(name: "Gym \(UUID().uuidString.prefix(6))").id
                return try await body(GalleryFixture(url: url, client: client, organization: organization))
            }
        }
    }

    func gallery(
        on client: PostgresClient? = nil, backend: SearchBackend = .memory,
        templates: TemplateKeys = TestDatabase.templateKeys
    ) -> FaceGallery {
        let client = client ?? self.client
        return FaceGallery(
            store: FaceStore(database: TestDatabase.database(client), logger: logger, templates: templates),
            members: MemberStore(database: TestDatabase.database(client), logger: logger),
            dimension: 128, backend: backend, logger: logger)
    }

    /// Runs `body` with a loaded gallery whose sync service runs alongside (one running instance).
    func withRunningGallery<T: Sendable>(
        on client: PostgresClient? = nil, checkInterval: Duration = .seconds(60),
        _ body: @escaping @Sendable (FaceGallery, GallerySync) async throws -> T
    ) async throws -> T {
        let gallery = gallery(on: client)
        let sync = GallerySync(
            gallery: gallery, client: client ?? self.client, checkInterval: checkInterval, logger: logger)
        return try await withShutdownBound(.seconds(30), of: "the gallery sync") { workDone in
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await sync.run()
                    return nil
                }
                defer {
                    group.cancelAll()
                    workDone()
                }
                try await waitUntil("the gallery loads") { gallery.isInSync }
                return try await body(gallery, sync)
            }
        }
    }

    /// Members named m0, m1, … made by the database in one statement.
    func makeMembers(_ count: Int) async throws -> [UUID] {
        var ids: [UUID] = []
        let rows = try await client.query(
            """
            INSERT INTO members (organization_id, name)
            SELECT \(organization), 'm' || i FROM generate_series(0, \(count - 1)) i RETURNING id
            """, logger: logger)
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        return ids
    }

    /// `count` faces with random embeddings (uniform in −1…1 per component, from `seed`) made by the database
    /// itself, spread over `members` — fast where a debug build formatting millions of floats is not.
    func insertRandomFaces(_ count: Int, members: [UUID], seed: Double) async throws {
        try await client.withConnection { connection in
            try await connection.query("SELECT setseed(\(seed))", logger: logger)
            try await connection.query(
                """
                INSERT INTO faces (organization_id, member_id, embedding, model, model_version, photo_digest)
                SELECT \(organization), (\(members))[1 + i % \(members.count)],
                       (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, 128) d WHERE i > 0)::vector,
                       'test', '1', sha256(int8send(i))
                FROM generate_series(1, \(count)) i
                """, logger: logger)
        }
    }

    func newFace(member: UUID, embedding: [Float], photo: String = UUID().uuidString) -> NewFace {
        NewFace(
            organizationID: organization, memberID: member, embedding: embedding, model: "test", modelVersion: "1",
            photoDigest: try! TestDatabase.templateKeys.photoDigest(
                of: Array(SHA256.hash(data: Data(photo.utf8))), organization: organization))
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting until \(what)" }
}

/// Polls `condition` every 10 ms until it holds, failing after `timeout`.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TimedOut(what: what)
}

extension GalleryFixture {
    /// Streams many faces into the table with `COPY`, as a bulk load behind the service's back would: the database
    /// announces it as one reload per organisation.
    func copyFaces(_ faces: [NewFace]) async throws {
        try await client.withConnection { connection in
            try await connection.copyFrom(
                table: "faces",
                columns: ["organization_id", "member_id", "embedding", "model", "model_version", "photo_digest"],
                logger: logger
            ) { writer in
                var buffer = ByteBuffer()
                for face in faces {
                    let vector = "[" + face.embedding.map { "\($0)" }.joined(separator: ",") + "]"
                    let hex = face.photoDigest.hex
                    // Ids, numbers and hex need no escaping in COPY's text format; the fixture's model names neither.
                    buffer.writeString(
                        [
                            face.organizationID.uuidString, face.memberID.uuidString, vector, face.model,
                            face.modelVersion, "\\\\x" + hex,
                        ].joined(separator: "\t") + "\n")
                    if buffer.readableBytes > 1 << 20 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
        }
    }
}
