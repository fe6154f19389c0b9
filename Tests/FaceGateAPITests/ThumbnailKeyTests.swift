@testable import FaceGateAPI
import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Storage
import TestSupport
import Testing

/// Thumbnails are bound to their face and name their key: a blob moved to another face does not open, and
/// `BIOMETRIC_ENCRYPTION_KEY` can be rotated without losing one.
@Suite("Thumbnail keys", .requiresFacesAndModels)
struct ThumbnailKeyTests {
    static let keyA = [UInt8](repeating: 7, count: 32), keyB = [UInt8](repeating: 8, count: 32)
    static let keyC = [UInt8](repeating: 9, count: 32)

    func configuration(_ url: String, key: [UInt8], previous: [[UInt8]] = []) throws -> AppConfiguration {
        var configuration = try testConfiguration(databaseURL: url)
        configuration.biometricEncryptionKey = key
        configuration.previousBiometricKeys = previous
        return configuration
    }

    func thumbnailStatus(_ client: any TestClientProtocol, token: String, member: String, face: String) async throws
        -> (HTTPResponse.Status, String?) {
        try await client.execute(uri: "/api/v1/members/\(member)/faces/\(face)/thumbnail", method: .get,
                                 headers: [.authorization: "Bearer \(token)"]) { response in
            let body = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
            return (response.status, body?["code"] as? String)
        }
    }

    @Test("a moved blob does not open; old keys open what they sealed; rotation re-seals everything, legacy blobs too")
    func rotation() async throws {
        try await TestDatabase.withFreshDatabase { url in
            // Two members with a face each, sealed under key A.
            let faces: [(member: String, face: String)] = try await testBounded(
                try await buildApplication(try configuration(url, key: Self.keyA))) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                var made: [(String, String)] = []
                for (name, photo) in [("Obama", "face_recognition/obama/obama.jpg"), ("Biden", "face_recognition/biden/biden.jpg")] {
                    let member = try #require(try await client.json(.post, "/api/v1/members", token: admin,
                                                                    body: ["name": name]).body["id"] as? String)
                    let enrolled = try await CheckinFlowTests.post(client, "/api/v1/members/\(member)/faces", token: admin, photo: photo)
                    made.append((member, try #require(enrolled.body["face_id"] as? String)))
                }
                #expect(try await thumbnailStatus(client, token: admin, member: made[0].0, face: made[0].1).0 == .ok)
                return made
            }
            try await TestDatabase.withClient(url) { client in
                // Obama's blob copied into Biden's row: refused, not shown as Biden.
                try await client.query("""
                    UPDATE faces SET thumbnail = (SELECT thumbnail FROM faces WHERE id = \(UUID(uuidString: faces[0].face)!))
                    WHERE id = \(UUID(uuidString: faces[1].face)!)
                    """, logger: TestDatabase.logger)
            }
            try await testBounded(try await buildApplication(try configuration(url, key: Self.keyA))) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                #expect(try await thumbnailStatus(client, token: admin, member: faces[1].member, face: faces[1].face)
                    == (.conflict, "thumbnail_unreadable"))
            }
            // Biden's row gets a legacy blob: sealed before key ids, under key A, without associated data.
            try await TestDatabase.withClient(url) { client in
                let legacy = [UInt8](try AES.GCM.seal([1, 2, 3], using: SymmetricKey(data: Self.keyA)).combined!)
                try await client.query("""
                    UPDATE faces SET thumbnail = \(ByteBuffer(bytes: legacy)), thumbnail_key_id = NULL
                    WHERE id = \(UUID(uuidString: faces[1].face)!)
                    """, logger: TestDatabase.logger)
            }
            // Key B replaces A, which stays among the previous keys: both thumbnails still open.
            let rotated = try configuration(url, key: Self.keyB, previous: [Self.keyA])
            try await testBounded(try await buildApplication(rotated)) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                for (member, face) in faces {
                    #expect(try await thumbnailStatus(client, token: admin, member: member, face: face).0 == .ok)
                }
            }
            try await TestDatabase.withClient(url) { client in
                let rotation = ThumbnailKeyRotation(
                    configuration: rotated, faces: FaceStore(database: TestDatabase.database(client), logger: TestDatabase.logger))
                let outcome = try await rotation.run()
                // Two thumbnails and the two faces' crops (which models embed again).
                #expect(outcome == .init(resealed: 4, unreadable: 0, total: 4))
                #expect(try await rotation.run() == .init(resealed: 0, unreadable: 0, total: 0))  // nothing left
                let underB = try await client.query(
                    "SELECT count(*)::int FROM faces WHERE crop IS NOT NULL AND crop_key_id = \(rotation.currentKeyID)",
                    logger: TestDatabase.logger)
                #expect(try await underB.collect().first?.decode(Int.self) == 2)
            }
            // Key A can go now; a service that knows neither key says so clearly.
            try await testBounded(try await buildApplication(try configuration(url, key: Self.keyB))) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                #expect(try await thumbnailStatus(client, token: admin, member: faces[0].member, face: faces[0].face).0 == .ok)
            }
            try await testBounded(try await buildApplication(try configuration(url, key: Self.keyC))) { client in
                try await untilReady(client)
                let admin = try await client.accessToken()
                #expect(try await thumbnailStatus(client, token: admin, member: faces[0].member, face: faces[0].face)
                    == (.conflict, "thumbnail_key_unknown"))
            }
        }
    }
}
