import FaceEngine
import FaceGateAPI
import Foundation
import Gallery
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Storage
import TestSupport
import Testing
import UseCases

/// Moving a gallery from one face model to another with `facegate faces reembed`'s work (`FaceReembedding`): real
/// models, photos and database; two service instances, one per model, on one database.
@Suite("Model migration", .requiresDatabase, .requiresFacesAndModels)
struct ModelMigrationTests {
    static func app(
        _ url: String, model: FaceModelKind, backend: SearchBackend = .memory, modelsDirectory: String? = nil
    ) async throws -> some ApplicationProtocol {
        var configuration = try testConfiguration(databaseURL: url)
        configuration.gallery.searchBackend = backend
        if let modelsDirectory { configuration.engine.modelsDirectory = modelsDirectory }
        configuration.engine.model = model
        configuration.engine.enrolmentGate = EnrolmentGate(model: model)
        configuration.engine.modelIsExplicit = true  // FACE_MODEL set, as an operator moving models does
        return try await buildApplication(configuration)
    }

    /// Barack Obama and Joe Biden as members, each with one photo enrolled; their ids.
    static func enrolObamaAndBiden(_ client: any TestClientProtocol, _ admin: String) async throws -> [String] {
        var ids: [String] = []
        for (name, photo) in [
            ("Barack Obama", "face_recognition/obama/obama.jpg"),
            ("Joe Biden", "face_recognition/biden/biden.jpg"),
        ] {
            let id = try #require(
                try await client.json(.post, "/api/v1/members", token: admin, body: ["name": name])
                    .body["id"] as? String)
            let enrolled = try await CheckinFlowTests.post(
                client, "/api/v1/members/\(id)/faces", token: admin, photo: photo)
            #expect(enrolled.status == .created, "\(enrolled.body)")
            ids.append(id)
        }
        return ids
    }

    static func checkIn(_ client: any TestClientProtocol, _ token: String, _ photo: String) async throws -> (
        HTTPResponse.Status, String?
    ) {
        let answer = try await CheckinFlowTests.post(client, "/api/v1/checkins", token: token, photo: photo)
        return (
            answer.status,
            (answer.body["member"] as? [String: Any])?["name"] as? String ?? answer.body["code"] as? String
        )
    }

    @Test(
        "reembed moves a dlib gallery to SFace: members keep matching, strangers do not, models never mix, erasure takes the crops"
    )
    func dlibToSFace() async throws {
        try await TestDatabase.withFreshDatabase { url in
            // Enrolled and checked in with dlib; each enrolment keeps a sealed crop.
            let obama = try await testBounded(try await Self.app(url, model: .dlib)) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                let ids = try await Self.enrolObamaAndBiden(client, admin)
                let answer = try await Self.checkIn(client, admin, "face_recognition/obama/obama2.jpg")
                #expect(answer.0 == .created && answer.1 == "Barack Obama")
                return ids[0]
            }
            let logger = Logger(label: "facegate.tests")
            let postgres = PostgresClient(
                configuration: try DatabaseURL.configuration(from: url), backgroundLogger: logger)
            try await withPostgresClient(postgres) {
                let store = FaceStore(
                    database: Database(client: postgres), logger: logger, templates: TestDatabase.templateKeys)
                let configuration = try {
                    var configuration = try testConfiguration(databaseURL: url)
                    configuration.engine.model = .sface
                    configuration.engine.modelIsExplicit = true
                    return configuration
                }()
                let sface = configuration.engine.space
                #expect(try await store.countsBySpace() == [FaceModelKind.dlib.descriptor(settings: .init()).space: 2])
                // Left to its default (SFace), a service over a database of dlib faces only refuses to start: it
                // would match nobody.
                var defaulted = try testConfiguration(databaseURL: url)
                defaulted.engine.modelIsExplicit = false
                await #expect(throws: (any Error).self) {
                    try await testBounded(try await buildApplication(defaulted)) { _ in }
                }

                try await testBounded(try await Self.app(url, model: .sface)) { client in
                    try await untilReady(client)
                    let admin = try await client.accessToken()
                    // Before the move an SFace instance sees no face at all: never an SFace probe against dlib's vectors.
                    let before = try await Self.checkIn(client, admin, "face_recognition/obama/obama2.jpg")
                    #expect(before.0 == .notFound && before.1 == "no_match")

                    let engines = try EnginePool(
                        count: 1, model: .sface,
                        models: FaceModels(directory: TestEnvironment.modelsDirectory),
                        settings: configuration.engine.settings, queueLimit: 100)
                    let reembedding = FaceReembedding(
                        configuration: configuration, faces: store, engines: engines, batch: 1)
                    #expect(reembedding.target == sface)
                    let outcome = try await reembedding.run()
                    #expect(
                        outcome.reembedded == 2 && outcome.total == 2 && outcome.noFace == 0 && outcome.unreadable == 0)
                    // Resumable and idempotent: nothing is left the second time.
                    #expect(try await reembedding.run().reembedded == 0)
                    #expect(try await store.membersToReregister(for: sface).isEmpty)
                    let counts = try await store.countsBySpace()
                    #expect(counts[sface] == 2 && counts.count == 2)

                    // The running SFace instance hears of the new faces (NOTIFY) and now matches members.
                    var after: (HTTPResponse.Status, String?) = (.notFound, nil)
                    for _ in 0..<100 where after.1 != "Barack Obama" {
                        after = try await Self.checkIn(client, admin, "face_recognition/obama/obama2.jpg")
                        if after.1 != "Barack Obama" { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    #expect(after.1 == "Barack Obama")
                    let stranger = try await Self.checkIn(client, admin, "face_recognition/kit_harington/john1.jpeg")
                    #expect(stranger.0 == .notFound && stranger.1 == "no_match")
                    // One photo is one face in the API, whatever the models behind it.
                    let listed = try await client.json(.get, "/api/v1/members/\(obama)/faces", token: admin)
                    #expect((listed.body["faces"] as? [Any])?.count == 1, "\(listed.body)")

                    // Deleting one face of Biden's (SFace's row) deletes the same photo's dlib face too: a photo staff
                    // removed does not come back with the next `reembed`.
                    let biden = try #require(
                        try await client.json(.get, "/api/v1/members?q=Biden", token: admin)
                            .body["members"] as? [[String: Any]])
                    let bidenID = try #require(biden.first?["id"] as? String)
                    let bidenFaces = try await client.json(.get, "/api/v1/members/\(bidenID)/faces", token: admin)
                    let bidenFace = try #require(
                        (bidenFaces.body["faces"] as? [[String: Any]])?.first?["face_id"] as? String)
                    #expect(
                        try await client.json(.delete, "/api/v1/members/\(bidenID)/faces/\(bidenFace)", token: admin)
                            .status == .noContent)
                    let bidenLeft = try await postgres.query(
                        "SELECT count(*)::int FROM faces WHERE member_id = \(UUID(uuidString: bidenID)!)",
                        logger: logger)
                    #expect(try await bidenLeft.collect().first?.decode(Int.self) == 0)
                    #expect(try await reembedding.run().reembedded == 0)

                    // Erasing the member removes every face of every model, crops included.
                    let erased = try await client.json(.delete, "/api/v1/members/\(obama)", token: admin)
                    #expect(erased.status == .noContent)
                    let left = try await postgres.query(
                        "SELECT count(*)::int FROM faces WHERE member_id = \(UUID(uuidString: obama)!)", logger: logger)
                    #expect(try await left.collect().first?.decode(Int.self) == 0)
                    #expect(try await store.countsBySpace().isEmpty)
                }
            }
        }
    }

    @Test(
        "reembed --activate switches running dlib instances (memory and pgvector backends) to SFace without a restart; one without SFace's files keeps dlib, says why and may not enrol; a restart with FACE_MODEL=dlib follows the database"
    )
    func activateWhileRunning() async throws {
        // An instance whose models folder holds dlib's files only: it cannot follow a switch to SFace.
        let dlibOnly = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-dlib-only-\(UUID())")
            .path
        try FileManager.default.createDirectory(atPath: dlibOnly, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dlibOnly) }
        for file in FaceModelKind.dlib.descriptor(settings: .init()).files {
            try FileManager.default.createSymbolicLink(
                atPath: dlibOnly + "/" + file.name,
                withDestinationPath: TestEnvironment.modelsDirectory + "/" + file.name)
        }
        try await TestDatabase.withFreshDatabase { url in
            let logger = Logger(label: "facegate.tests")
            let postgres = PostgresClient(
                configuration: try DatabaseURL.configuration(from: url), backgroundLogger: logger)
            try await withPostgresClient(postgres) {
                let database = Database(client: postgres)
                let dlib = FaceModelKind.dlib.descriptor(settings: .init()).space
                try await testBounded(try await Self.app(url, model: .dlib, backend: .pgvector)) { searchingPostgres in
                    try await testBounded(try await Self.app(url, model: .dlib, modelsDirectory: dlibOnly)) { stuck in
                        try await testBounded(try await Self.app(url, model: .dlib)) { client in
                            try await untilReady(searchingPostgres)
                            try await untilReady(stuck)
                            try await untilReady(client)
                            let admin = try await client.accessToken()
                            _ = try await Self.enrolObamaAndBiden(client, admin)
                            #expect(try await Self.model(client) == "dlib")

                            var configuration = try testConfiguration(databaseURL: url)
                            configuration.engine.model = .sface
                            let engines = try EnginePool(
                                count: 1, model: .sface,
                                models: FaceModels(directory: TestEnvironment.modelsDirectory),
                                settings: configuration.engine.settings, queueLimit: 100)
                            let reembedding = FaceReembedding(
                                configuration: configuration,
                                faces: FaceStore(
                                    database: database, logger: logger, templates: TestDatabase.templateKeys),
                                engines: engines)
                            let activations = ModelActivationStore(database: database, logger: logger)
                            let outcome = try await reembedding.run()
                            #expect(outcome.reembedded == 2)
                            // A photo without a face of the new model stops the switch unless forced.
                            var short = outcome
                            short.noFace = 1
                            let refused = try await reembedding.activate(
                                after: short, toReregister: [], activations: activations, force: false)
                            #expect(!refused.activated && refused.photosWithoutFace == 1)
                            #expect(try await activations.current() == nil)
                            let activation = try await reembedding.activate(
                                after: outcome, toReregister: [], activations: activations, force: false)
                            #expect(
                                activation.activated && activation.photosWithoutFace == 0
                                    && activation.caughtUp.reembedded == 0)
                            #expect(try await activations.current() == reembedding.target)

                            // The running instances hear of it and switch: SFace's engines, gallery and tolerance.
                            for instance in [client, searchingPostgres] {
                                var model: String?
                                for _ in 0..<200 where model != "sface" {
                                    model = try await Self.model(instance)
                                    if model != "sface" { try await Task.sleep(for: .milliseconds(100)) }
                                }
                                #expect(model == "sface")
                            }
                            let viaPostgres = try await Self.checkIn(
                                searchingPostgres, try await searchingPostgres.accessToken(),
                                "face_recognition/obama/obama2.jpg")
                            #expect(viaPostgres.0 == .created && viaPostgres.1 == "Barack Obama")
                            // The one without SFace's files keeps dlib and checks members in with it, says why, may not enrol.
                            let stuckReady = try await stuck.json(.get, "/ready")
                            let stuckModels = try #require(
                                (stuckReady.body["checks"] as? [String: Any])?["models"] as? [String: Any])
                            #expect(stuckReady.status == .ok && stuckModels["model"] as? String == "dlib")
                            #expect(
                                (stuckModels["error"] as? String)?.contains("do not load") == true, "\(stuckModels)")
                            let stuckAdmin = try await stuck.accessToken()
                            #expect(
                                try await Self.checkIn(stuck, stuckAdmin, "face_recognition/obama/obama2.jpg").1
                                    == "Barack Obama")
                            let someone = try #require(
                                try await stuck.json(
                                    .post, "/api/v1/members", token: stuckAdmin, body: ["name": "Someone"]
                                )
                                .body["id"] as? String)
                            let refusedEnrolment = try await CheckinFlowTests.post(
                                stuck, "/api/v1/members/\(someone)/faces", token: stuckAdmin,
                                photo: "face_recognition/kit_harington/john1.jpeg")
                            #expect(
                                refusedEnrolment.status == .serviceUnavailable
                                    && refusedEnrolment.body["code"] as? String == "model_switching",
                                "\(refusedEnrolment.body)")
                            let ready = try await client.json(.get, "/ready")
                            let models = try #require(
                                (ready.body["checks"] as? [String: Any])?["models"] as? [String: Any])
                            #expect(
                                ready.status == .ok && models["activated"] as? String == reembedding.target.description,
                                "\(ready.body)")
                            // (Checked in through the other instance a moment ago: this is the same check-in, 200.)
                            let answer = try await Self.checkIn(client, admin, "face_recognition/obama/obama2.jpg")
                            #expect(answer.0 == .ok && answer.1 == "Barack Obama")
                            let stranger = try await Self.checkIn(
                                client, admin, "face_recognition/kit_harington/john1.jpeg")
                            #expect(stranger.0 == .notFound && stranger.1 == "no_match")
                            // New enrolments are SFace faces now.
                            let id = try #require(
                                try await client.json(.post, "/api/v1/members", token: admin, body: ["name": "Kit"])
                                    .body["id"] as? String)
                            let enrolled = try await CheckinFlowTests.post(
                                client, "/api/v1/members/\(id)/faces", token: admin,
                                photo: "face_recognition/kit_harington/john1.jpeg")
                            #expect(enrolled.status == .created, "\(enrolled.body)")
                            #expect(
                                try await FaceStore(
                                    database: database, logger: logger, templates: TestDatabase.templateKeys
                                ).countsBySpace()
                                    == [dlib: 2, reembedding.target: 3])

                            // An instance still on dlib may not enrol: its face would be searched by nobody.
                            let member = try #require(UUID(uuidString: id))
                            let organization = try #require(
                                try await postgres.query(
                                    "SELECT organization_id FROM members WHERE id = \(member)", logger: logger
                                ).collect().first?.decode(UUID.self))
                            await #expect(throws: StorageError.modelNotActive) {
                                try await FaceStore(
                                    database: database, logger: logger, templates: TestDatabase.templateKeys
                                ).insert(
                                    NewFace(
                                        organizationID: organization, memberID: member,
                                        embedding: [Float](repeating: 0.1, count: 128),
                                        model: dlib.model, modelVersion: dlib.version, quality: [:], box: nil,
                                        photoDigest: PhotoDigest(bytes: Array(repeating: 7, count: 32), keyID: nil),
                                        sealedThumbnail: nil, thumbnailKeyID: nil))
                            }
                        }
                    }
                }
                // Started again with FACE_MODEL=dlib, an instance runs the activated model and says so.
                try await testBounded(try await Self.app(url, model: .dlib)) { client in
                    try await untilReady(client)
                    #expect(try await Self.model(client) == "sface")
                    let admin = try await client.accessToken()
                    let answer = try await Self.checkIn(client, admin, "face_recognition/obama/obama2.jpg")
                    #expect(answer.1 == "Barack Obama")
                }
            }
        }
    }

    /// The model `/ready` says this instance runs.
    static func model(_ client: any TestClientProtocol) async throws -> String? {
        let ready = try await client.json(.get, "/ready")
        return ((ready.body["checks"] as? [String: Any])?["models"] as? [String: Any])?["model"] as? String
    }
}
