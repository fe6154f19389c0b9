import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// The product end to end through the real router, database, models and photos: an operator enrols a member's
/// face, a kiosk checks the member in from another photo of them.
@Suite("Enrolment and check-in", .requiresDatabase, .requiresFacesAndModels)
struct CheckinFlowTests {
    static func post(
        _ client: any TestClientProtocol, _ uri: String, token: String, photo path: String, as style: String = "raw",
        idempotencyKey: String? = nil
    ) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        let bytes = try TestEnvironment.photo(path)
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if let idempotencyKey { headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        let body: ByteBuffer
        switch style {
        case "multipart":
            let boundary = "facegate-test-boundary"
            headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
            var buffer = ByteBuffer(
                string: "--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.jpg\"\r\n"
                    + "Content-Type: image/jpeg\r\n\r\n")
            buffer.writeBytes(bytes)
            buffer.writeString("\r\n--\(boundary)--\r\n")
            body = buffer
        case "base64":
            headers[.contentType] = "application/json"
            body = ByteBuffer(
                data: try JSONSerialization.data(withJSONObject: ["image_base64": Data(bytes).base64EncodedString()]))
        default:
            headers[.contentType] = "image/jpeg"
            body = ByteBuffer(bytes: bytes)
        }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: body) { response in
            (
                response.status,
                ((try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]) ?? [:]
            )
        }
    }

    @Test("enrol, check in with another photo (each body style), strangers and bad photos refused, de-duplicated")
    func flow() async throws {
        try await withApplication(recognizers: .modelFiles) { client, _ in
            let admin = try await client.accessToken()
            try await client.turnLivenessOff(admin: admin)
            _ = try await client.json(
                .post, "/api/v1/users", token: admin,
                body: [
                    "username": "door", "password": "a long enough password", "role": "kiosk",
                ])
            let kiosk = try await client.accessToken(username: "door", password: "a long enough password")
            let obama = try #require(
                try await client.json(
                    .post, "/api/v1/members", token: admin,
                    body: [
                        "name": "Barack Obama", "external_id": "44",
                    ]
                ).body["id"] as? String)

            let enrolled = try await Self.post(
                client, "/api/v1/members/\(obama)/faces", token: admin,
                photo: "face_recognition/obama/obama.jpg")
            #expect(enrolled.status == .created)
            let faceID = try #require(enrolled.body["face_id"] as? String)
            #expect((enrolled.body["box"] as? [String: Any])?["width"] as? Int ?? 0 > 80)

            // Kiosk check-in with a different photo, in each body style; the first records, the others de-duplicate.
            // Within the tolerance the service derives for a one-face gallery.
            let tolerance = Double(
                try testConfiguration(databaseURL: "postgres://u:p@localhost/db").engine.matchPolicy
                    .tolerance(galleryFaces: 1))
            var checkinIDs = Set<String>()
            for (i, style) in ["raw", "multipart", "base64"].enumerated() {
                let checkin = try await Self.post(
                    client, "/api/v1/checkins", token: kiosk,
                    photo: "face_recognition/obama/obama2.jpg", as: style)
                #expect(checkin.status == (i == 0 ? .created : .ok), "\(style): \(checkin.body)")
                #expect((checkin.body["member"] as? [String: Any])?["name"] as? String == "Barack Obama")
                #expect((checkin.body["distance"] as? Double ?? 1) <= tolerance)
                if let id = checkin.body["checkin_id"] as? String { checkinIDs.insert(id) }
            }
            #expect(checkinIDs.count == 1)

            // A kiosk that retries with its key gets the first answer, not a second check-in; so does a retried enrolment.
            let keyed = try await Self.post(
                client, "/api/v1/checkins", token: kiosk, photo: "face_recognition/obama/obama1.jpg",
                idempotencyKey: "frame-1")
            let retried = try await Self.post(
                client, "/api/v1/checkins", token: kiosk,
                photo: "face_recognition/obama/obama1.jpg", idempotencyKey: "frame-1")
            #expect(
                keyed.status == retried.status
                    && keyed.body["checkin_id"] as? String == retried.body["checkin_id"] as? String)
            let enrolAgain = try await Self.post(
                client, "/api/v1/members/\(obama)/faces", token: admin,
                photo: "face_recognition/obama/obama1.jpg", idempotencyKey: "enrol-1")
            let enrolRetried = try await Self.post(
                client, "/api/v1/members/\(obama)/faces", token: admin,
                photo: "face_recognition/obama/obama1.jpg", idempotencyKey: "enrol-1")
            #expect(enrolAgain.status == .created && enrolRetried.status == .created)
            #expect(enrolAgain.body["face_id"] as? String == enrolRetried.body["face_id"] as? String)

            let stranger = try await Self.post(
                client, "/api/v1/checkins", token: kiosk, photo: "face_recognition/biden/biden.jpg")
            #expect(stranger.status == .notFound && stranger.body["code"] as? String == "no_match")
            let noFace = try await Self.post(
                client, "/api/v1/checkins", token: kiosk, photo: "edge_cases/noface/white_640x480.jpg")
            #expect(noFace.status == .unprocessableContent && noFace.body["code"] as? String == "no_face")
            let text = try await Self.post(
                client, "/api/v1/checkins", token: kiosk, photo: "edge_cases/invalid/text_as.jpg")
            #expect([.badRequest, .unsupportedMediaType].contains(text.status) && text.body["code"] != nil, "\(text)")

            // Identify (no side effect), verify, detect.
            let identified = try await Self.post(
                client, "/api/v1/identify", token: admin, photo: "face_recognition/obama/obama1.jpg")
            let matches = identified.body["matches"] as? [[String: Any]]
            #expect(
                identified.status == .ok && (matches?.first?["member"] as? [String: Any])?["id"] as? String == obama)
            #expect(
                try await Self.post(
                    client, "/api/v1/identify", token: kiosk, photo: "face_recognition/obama/obama1.jpg"
                ).status == .forbidden)
            let same = try await Self.post(
                client, "/api/v1/members/\(obama)/verify", token: admin, photo: "face_recognition/obama/obama1.jpg")
            #expect(same.status == .ok && same.body["match"] as? Bool == true)
            let other = try await Self.post(
                client, "/api/v1/members/\(obama)/verify", token: admin, photo: "face_recognition/biden/biden.jpg")
            #expect(other.status == .ok && other.body["match"] as? Bool == false)
            let detected = try await Self.post(
                client, "/api/v1/detect", token: admin, photo: "face_recognition/multi/obama_and_biden.jpg")
            // The two men, and (YuNet) the girl looking down in front of them, whom dlib's HOG misses.
            #expect(((detected.body["faces"] as? [[String: Any]])?.count ?? 0) >= 2)

            // History, thumbnail, and the enrolment rules.
            let history = try await client.json(.get, "/api/v1/checkins?member_id=\(obama)", token: admin)
            #expect((history.body["checkins"] as? [[String: Any]])?.count == 1)
            try await client.execute(
                uri: "/api/v1/members/\(obama)/faces/\(faceID)/thumbnail", method: .get,
                headers: [.authorization: "Bearer \(admin)"]
            ) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "image/png")
                #expect(Array(Data(buffer: response.body).prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
            }
            let group = try await Self.post(
                client, "/api/v1/members/\(obama)/faces", token: admin,
                photo: "face_recognition/multi/obama_and_biden.jpg")
            #expect(group.status == .unprocessableContent && group.body["code"] as? String == "multiple_faces")
            let biden = try #require(
                try await client.json(.post, "/api/v1/members", token: admin, body: ["name": "Impostor"]).body["id"]
                    as? String)
            let stolen = try await Self.post(
                client, "/api/v1/members/\(biden)/faces", token: admin, photo: "face_recognition/obama/obama1.jpg")
            #expect(stolen.status == .conflict && stolen.body["code"] as? String == "face_belongs_to_other_member")

            // Erasing the member erases the face: the kiosk no longer knows them.
            #expect(try await client.json(.delete, "/api/v1/members/\(obama)", token: admin).status == .noContent)
            let gone = try await Self.post(
                client, "/api/v1/identify", token: admin, photo: "face_recognition/obama/obama2.jpg")
            #expect((gone.body["matches"] as? [[String: Any]])?.isEmpty == true)
            // And the answers kept for retries that named them (their check-in, their enrolment): a replay is 410
            // member_erased with nothing of theirs.
            for (uri, token, key) in [
                ("/api/v1/checkins", kiosk, "frame-1"), ("/api/v1/members/\(obama)/faces", admin, "enrol-1"),
            ] {
                let replay = try await Self.post(
                    client, uri, token: token, photo: "face_recognition/obama/obama1.jpg",
                    idempotencyKey: key)
                #expect(
                    replay.status == .gone && replay.body["code"] as? String == "member_erased",
                    "\(key): \(replay.body)")
                let shown = "\(replay.body)"
                #expect(
                    !shown.contains("Obama") && !shown.contains(obama) && !shown.contains("face_id"), "\(key): \(shown)"
                )
            }
        }
    }
}
