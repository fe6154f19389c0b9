import Crypto
import FaceEngine
import Foundation
import HTTPTypes
import HummingbirdTesting
import ImageDecoding
import PostgresNIO
import Storage
import TestSupport
import Testing
import UseCases

@testable import FaceGateAPI
@testable import FaceGateRuntime

/// Thumbnails are bound to their face and name their key: a blob moved to another face does not open. Face templates
/// are stored under the key's rotation: a dumped one does not match the face it was made of. `BIOMETRIC_ENCRYPTION_KEY`
/// can be rotated without losing a thumbnail or changing a match.
@Suite("Biometric keys", .requiresDatabase, .requiresFacesAndModels)
struct BiometricKeyTests {
    static let keyA = [UInt8](repeating: 7, count: 32), keyB = [UInt8](repeating: 8, count: 32)
    static let keyC = [UInt8](repeating: 9, count: 32)

    func configuration(_ url: String, key: [UInt8], previous: [[UInt8]] = []) throws -> AppConfiguration {
        var configuration = try testConfiguration(databaseURL: url)
        configuration.security.biometricKey = key
        configuration.security.previousBiometricKeys = previous
        return configuration
    }

    func thumbnailStatus(_ client: any TestClientProtocol, token: String, member: String, face: String) async throws
        -> (HTTPResponse.Status, String?)
    {
        try await client.execute(
            uri: "/api/v1/members/\(member)/faces/\(face)/thumbnail", method: .get,
            headers: [.authorization: "Bearer \(token)"]
        ) { response in
            let body = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
            return (response.status, body?["code"] as? String)
        }
    }

    /// The admin's best match for `photo`: its member id and distance.
    func identify(_ client: any TestClientProtocol, token: String, photo: String) async throws -> (
        member: String?, distance: Double?
    ) {
        let answer = try await CheckinFlowTests.post(client, "/api/v1/identify", token: token, photo: photo)
        let best = (answer.body["matches"] as? [[String: Any]])?.first
        return ((best?["member"] as? [String: Any])?["id"] as? String, best?["distance"] as? Double)
    }

    /// A face's stored template, its key id and organisation, as a database dump shows them.
    func storedTemplate(_ url: String, face: String) async throws -> (
        template: [Float], key: String?, organization: UUID
    ) {
        try await TestDatabase.withClient(url) { client in
            try #require(
                try await client.query(
                    "SELECT embedding::real[], template_key_id, organization_id FROM faces WHERE id = \(UUID(uuidString: face)!)",
                    logger: TestDatabase.logger
                ).collect().first?.decode(([Float], String?, UUID).self))
        }
    }

    /// A face's stored photo digest and its key id.
    func storedDigest(_ url: String, face: String) async throws -> PhotoDigest {
        try await TestDatabase.withClient(url) { client in
            let (bytes, key) = try #require(
                try await client.query(
                    "SELECT photo_digest, photo_digest_key_id FROM faces WHERE id = \(UUID(uuidString: face)!)",
                    logger: TestDatabase.logger
                ).collect().first?.decode((ByteBuffer, String?).self))
            return PhotoDigest(bytes: Array(buffer: bytes), keyID: key)
        }
    }

    @Test(
        """
        a moved blob does not open; a stored template does not match its face; old keys open what they sealed; rotation \
        re-seals and re-transforms everything, legacy blobs too, and matches stay the same
        """)
    func rotation() async throws {
        try await TestDatabase.withFreshDatabase { url in
            // Two members with a face each, sealed under key A.
            let faces: [(member: String, face: String)] = try await testBounded(
                try await buildApplication(try configuration(url, key: Self.keyA))
            ) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                var made: [(String, String)] = []
                for (name, photo) in [
                    ("Obama", "face_recognition/obama/obama.jpg"), ("Biden", "face_recognition/biden/biden.jpg"),
                ] {
                    let member = try #require(
                        try await client.json(
                            .post, "/api/v1/members", token: admin,
                            body: ["name": name]
                        ).body["id"] as? String)
                    let enrolled = try await CheckinFlowTests.post(
                        client, "/api/v1/members/\(member)/faces", token: admin, photo: photo)
                    made.append((member, try #require(enrolled.body["face_id"] as? String)))
                }
                #expect(try await thumbnailStatus(client, token: admin, member: made[0].0, face: made[0].1).0 == .ok)
                return made
            }
            // What a dump shows of Obama's face is not his embedding: the plain model puts the same photo far from it.
            let configurationA = try configuration(url, key: Self.keyA)
            let pipeline = FacePipeline(
                engines: try RecognizerSource.modelFiles.engines(configurationA.engine), decoder: ImageDecoder())
            let plain = try #require(
                try await pipeline.analyse(
                    try TestEnvironment.photo("face_recognition/obama/obama.jpg"), limit: 1
                ).faces.first
            ).embedding
            let underA = try await storedTemplate(url, face: faces[0].face)
            #expect(underA.key == TemplateKeys.storedID(of: Self.keyA))
            // A Haar rotation in 128 dimensions puts cos(Q·e, e) at about N(0, 1/128): the distance is 1 ± 0.09, over
            // 0.5 but for about one face in 10⁹. The loosest tolerance (a gallery of two faces, 0.68) is only 3.6σ
            // away — about one organisation's rotation in 7,000 leaves a given face inside it (README, Security) —
            // so this bound is the 0.5 a test can hold every run, not that tolerance.
            #expect(faceDistance(underA.template, plain) > 0.5)
            #expect(
                faceDistance(
                    try configurationA.security.templateKeys.embedding(
                        of: underA.template, under: underA.key, organization: underA.organization), plain) < 1e-4)
            // Nor does it hold the photo's SHA-256: a known photo does not say which row it made.
            let obamaSHA = Array(SHA256.hash(data: try TestEnvironment.photo("face_recognition/obama/obama.jpg")))
            let digestA = try await storedDigest(url, face: faces[0].face)
            #expect(
                digestA
                    == (try configurationA.security.templateKeys.photoDigest(
                        of: obamaSHA, organization: underA.organization)))
            #expect(digestA.bytes != obamaSHA)
            try await TestDatabase.withClient(url) { client in
                // Obama's blob copied into Biden's row: refused, not shown as Biden.
                try await client.query(
                    """
                    UPDATE faces SET thumbnail = (SELECT thumbnail FROM faces WHERE id = \(UUID(uuidString: faces[0].face)!))
                    WHERE id = \(UUID(uuidString: faces[1].face)!)
                    """, logger: TestDatabase.logger)
            }
            try await testBounded(try await buildApplication(try configuration(url, key: Self.keyA))) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                #expect(
                    try await thumbnailStatus(client, token: admin, member: faces[1].member, face: faces[1].face)
                        == (.conflict, "thumbnail_unreadable"))
            }
            // Biden's row gets a legacy blob: sealed before key ids, under key A, without associated data.
            try await TestDatabase.withClient(url) { client in
                let legacy = [UInt8](try AES.GCM.seal([1, 2, 3], using: SymmetricKey(data: Self.keyA)).combined!)
                try await client.query(
                    """
                    UPDATE faces SET thumbnail = \(ByteBuffer(bytes: legacy)), thumbnail_key_id = NULL
                    WHERE id = \(UUID(uuidString: faces[1].face)!)
                    """, logger: TestDatabase.logger)
            }
            // Obama's row as a service before keyed digests stored it: the photo's plain SHA-256, its blobs sealed for it.
            try await TestDatabase.withClient(url) { client in
                let sealer = configurationA.security.biometricSealer
                let face = UUID(uuidString: faces[0].face)!
                let (thumbnail, crop) = try #require(
                    try await client.query(
                        "SELECT thumbnail, crop FROM faces WHERE id = \(face)", logger: TestDatabase.logger
                    ).collect().first?.decode((ByteBuffer, ByteBuffer).self))
                let keyed = BiometricSealer.Owner(
                    organization: underA.organization, member: UUID(uuidString: faces[0].member)!,
                    photoDigest: digestA.bytes)
                var plain = keyed
                plain.photoDigest = obamaSHA
                let resealed = try [(thumbnail, FaceStore.SealedColumn.thumbnail), (crop, .crop)].map { blob, column in
                    try sealer.seal(
                        try sealer.open(Array(buffer: blob), keyID: sealer.currentID, for: keyed, as: column),
                        for: plain, as: column
                    ).sealed
                }
                try await client.query(
                    """
                    UPDATE faces SET photo_digest = \(ByteBuffer(bytes: obamaSHA)), photo_digest_key_id = NULL,
                                     thumbnail = \(ByteBuffer(bytes: resealed[0])), crop = \(ByteBuffer(bytes: resealed[1]))
                    WHERE id = \(face)
                    """, logger: TestDatabase.logger)
            }
            // Key B replaces A, which stays among the previous keys: both thumbnails still open, Obama is found.
            let rotated = try configuration(url, key: Self.keyB, previous: [Self.keyA])
            let matchBefore = try await testBounded(try await buildApplication(rotated)) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                for (member, face) in faces {
                    #expect(try await thumbnailStatus(client, token: admin, member: member, face: face).0 == .ok)
                }
                // The same photo again for Obama is the face he has, though its digest is still the plain one.
                let again = try await CheckinFlowTests.post(
                    client, "/api/v1/members/\(faces[0].member)/faces", token: admin,
                    photo: "face_recognition/obama/obama.jpg")
                #expect(again.status == .conflict && again.body["code"] as? String == "duplicate_face")
                return try await identify(client, token: admin, photo: "face_recognition/obama/obama2.jpg")
            }
            #expect(matchBefore.member == faces[0].member)
            try await TestDatabase.withClient(url) { client in
                let rotation = BiometricKeyRotation(
                    configuration: rotated,
                    faces: FaceStore(
                        database: TestDatabase.database(client), logger: TestDatabase.logger,
                        templates: rotated.security.templateKeys))
                let outcome = try await rotation.run()
                // Two thumbnails, the two faces' crops (which models embed again), their templates and Obama's plain
                // digest.
                #expect(outcome == .init(resealed: 4, rekeyed: 2, keyedDigests: 1, unreadable: 0, total: 7))
                #expect(try await rotation.run() == .init())  // nothing left
                let underB = try await client.query(
                    "SELECT count(*)::int FROM faces WHERE crop IS NOT NULL AND crop_key_id = \(rotation.currentKeyID)",
                    logger: TestDatabase.logger)
                #expect(try await underB.collect().first?.decode(Int.self) == 2)
            }
            // The template changed with the key; the plain embedding is still what it holds under B.
            let underB = try await storedTemplate(url, face: faces[0].face)
            #expect(underB.key == TemplateKeys.storedID(of: Self.keyB))
            #expect(faceDistance(underB.template, underA.template) > 0.5)
            #expect(
                faceDistance(
                    try rotated.security.templateKeys.embedding(
                        of: underB.template, under: underB.key, organization: underB.organization), plain) < 1e-4)
            // Obama's digest is keyed under B now; Biden's stays under A (a digest cannot be re-keyed without its photo).
            #expect(
                try await storedDigest(url, face: faces[0].face)
                    == (try rotated.security.templateKeys.photoDigest(of: obamaSHA, organization: underB.organization)))
            #expect(try await storedDigest(url, face: faces[1].face).keyID == TemplateKeys.storedID(of: Self.keyA))
            // Key A can go now: the same match at the same distance; a service that knows neither key says so clearly.
            try await testBounded(try await buildApplication(try configuration(url, key: Self.keyB))) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                #expect(
                    try await thumbnailStatus(client, token: admin, member: faces[0].member, face: faces[0].face).0
                        == .ok)
                let matchAfter = try await identify(client, token: admin, photo: "face_recognition/obama/obama2.jpg")
                #expect(matchAfter.member == faces[0].member)
                #expect(abs((matchAfter.distance ?? 9) - (matchBefore.distance ?? 0)) < 1e-5)
            }
            try await testBounded(try await buildApplication(try configuration(url, key: Self.keyC))) { client in
                let admin = try await client.accessToken()
                #expect(
                    try await thumbnailStatus(client, token: admin, member: faces[0].member, face: faces[0].face)
                        == (.conflict, "thumbnail_key_unknown"))
                // Its gallery cannot be read: not ready, and no face is matched (never against unreadable templates).
                // The error is there once its first load has been tried (on a loaded machine, not at once).
                func galleryError(_ ready: [String: Any]) -> String? {
                    ((ready["checks"] as? [String: Any])?["gallery"] as? [String: Any])?["error"] as? String
                }
                let ready = try await poll(every: .milliseconds(100), within: .seconds(30)) {
                    try await client.json(.get, "/ready")
                } until: {
                    galleryError($0.body) != nil
                }
                #expect(ready.status == .serviceUnavailable)
                #expect(
                    galleryError(ready.body)?.contains(TemplateKeys.id(of: Self.keyB)) == true,
                    "\(ready.body)")
                let answer = try await CheckinFlowTests.post(
                    client, "/api/v1/identify", token: admin,
                    photo: "face_recognition/obama/obama2.jpg")
                #expect(answer.status == .serviceUnavailable)
            }
        }
    }
}
