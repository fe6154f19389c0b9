import FaceEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ImageDecoding
import Liveness
import NIOCore
import TestSupport
import Testing

/// The kiosk's door against a photo, with the real models and real head turns (frames cut from a clip of
/// `../shared/faces/video` with ffmpeg): a challenge's frames of a real turn check the member in, each way; the wrong
/// way, no turn, a flat print of the member turned in front of the camera (rendered exactly) and two people are
/// refused with their reasons; a challenge is single use and the asking account's; a kiosk's single photo is refused
/// under `challenge` and admitted under `off`.
@Suite("Liveness challenges", .requiresDatabase, .requiresFacesAndModels)
struct LivenessTests {
    /// A woman turning her head to the image's right (her own left) from 7.7 s, frontal then (liveportrait_d3).
    static let clip = TestEnvironment.facesRoot + "/video/liveportrait_d3.mp4"
    /// Another woman (sadtalker_WDA_KatieHill_000), for two people; a third whose head stays frontal (the control).
    static let otherClip = TestEnvironment.facesRoot + "/video/sadtalker_WDA_KatieHill_000.mp4"
    static let stillClip = TestEnvironment.facesRoot + "/video/liveportrait_d0_no_turn.mp4"

    /// `count` JPEG frames of `clip`, `every` seconds apart from `start`, 640 px wide, mirrored if asked.
    static func frames(
        _ clip: String, start: Double, every: Double, count: Int, mirrored: Bool = false
    ) async throws -> [[UInt8]] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "facegate-frames-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let filter = "fps=\(1 / every),scale=640:-2" + (mirrored ? ",hflip" : "")
        let result = try await ChildProcess(
            "/usr/bin/env",
            arguments: [
                "ffmpeg", "-loglevel", "error", "-ss", String(start), "-i", clip, "-vf", filter, "-frames:v",
                String(count),
                "-q:v", "3", folder.path + "/%02d.jpg",
            ]
        ).run()
        try #require(result.status == 0, "ffmpeg (installed by scripts/setup browser): \(result.standardError)")
        return try (1...count).map { n in
            try [UInt8](Data(contentsOf: folder.appendingPathComponent(String(format: "%02d.jpg", n))))
        }
    }

    /// A multipart body of `images` (JPEG or PNG) with the challenge's id.
    static func post(
        _ client: any TestClientProtocol, token: String, challenge: String?, images: [[UInt8]]
    ) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        let boundary = "facegate-liveness-boundary"
        var body = ByteBuffer()
        if let challenge {
            body.writeString(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"challenge_id\"\r\n\r\n\(challenge)\r\n")
        }
        for image in images {
            let type = image.starts(with: [0x89, 0x50]) ? "image/png" : "image/jpeg"
            body.writeString(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"f\"\r\n"
                    + "Content-Type: \(type)\r\n\r\n")
            body.writeBytes(image)
            body.writeString("\r\n")
        }
        body.writeString("--\(boundary)--\r\n")
        return try await client.execute(
            uri: "/api/v1/checkins", method: .post,
            headers: [.authorization: "Bearer \(token)", .contentType: "multipart/form-data; boundary=\(boundary)"],
            body: body
        ) { response in
            (
                response.status,
                ((try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]) ?? [:]
            )
        }
    }

    /// A new challenge for `token`: its id and turn.
    static func challenge(_ client: any TestClientProtocol, token: String) async throws -> (id: String, turn: String) {
        let answer = try await client.json(.post, "/api/v1/checkins/challenges", token: token)
        try #require(answer.status == .created, "\(answer.body)")
        #expect(answer.body["expires_in"] as? Int == 30)
        return (try #require(answer.body["challenge_id"] as? String), try #require(answer.body["turn"] as? String))
    }

    /// A flat print of `photo` (life size, cropped around its face) held up to a camera 55 cm away and turned by 0 to
    /// `degrees` about its vertical axis over six frames, as PNG.
    static func flatPrint(of photo: [UInt8], landmarks: [Point], degrees: Double) throws -> [[UInt8]] {
        let image = try ImageDecoder().decode(photo)
        let printed = PrintRendering.printed(image, around: landmarks)
        let scale = 0.05 / LivenessCheck.faceHeight(landmarks)
        let renderer = PrintRendering()
        var random = SplitMix64(seed: 29)
        let background = PrintRendering.background(width: renderer.width, height: renderer.height, using: &random)
        return (0..<6).map { n in
            let pose = PrintRendering.Pose(distance: 0.55, angle: degrees * .pi / 180 * Double(n) / 5)
            return renderer.render(printed, metresPerPixel: scale, pose: pose, background: background).pngData()
        }
    }

    @Test(
        "a real turn checks in each way; the wrong way, no turn, a flat print and two people are refused with their reasons; challenges are single use and the account's; a kiosk's single photo needs the challenge unless liveness is off"
    )
    func door() async throws {
        // The turn (her own left), the same turn mirrored (a real turn to the right), a head that does not turn.
        let left = try await Self.frames(Self.clip, start: 7.7, every: 0.3, count: 6)
        let right = try await Self.frames(Self.clip, start: 7.7, every: 0.3, count: 6, mirrored: true)
        let still = try await Self.frames(Self.stillClip, start: 0.5, every: 0.3, count: 6)
        let other = try await Self.frames(Self.otherClip, start: 1.0, every: 0.3, count: 6)
        try await withApplication(recognizers: .modelFiles) { client, _ in
            let admin = try await client.accessToken()
            let organization = try #require(
                try await client.json(.get, "/api/v1/auth/me", token: admin)
                    .body["organization_id"] as? String)
            for (username, role) in [("door", "kiosk"), ("door2", "kiosk"), ("desk", "operator")] {
                _ = try await client.json(
                    .post, "/api/v1/users", token: admin,
                    body: [
                        "username": username, "password": "a long enough password", "role": role,
                    ])
            }
            let kiosk = try await client.accessToken(username: "door", password: "a long enough password")
            let kiosk2 = try await client.accessToken(username: "door2", password: "a long enough password")
            let desk = try await client.accessToken(username: "desk", password: "a long enough password")
            let shown = try await client.json(.get, "/api/v1/organizations/\(organization)", token: kiosk)
            #expect(shown.status == .ok && shown.body["liveness"] as? String == "challenge", "\(shown.body)")

            let member = try #require(
                try await client.json(
                    .post, "/api/v1/members", token: admin,
                    body: [
                        "name": "Turning Woman"
                    ]
                ).body["id"] as? String)
            let enrolled = try await client.execute(
                uri: "/api/v1/members/\(member)/faces", method: .post,
                headers: [.authorization: "Bearer \(admin)", .contentType: "image/jpeg"],
                body: ByteBuffer(bytes: left[0])
            ) { $0.status }
            #expect(enrolled == .created)

            // A kiosk's single photo: 422 liveness_required; the operator at the desk may still post one.
            let single = try await client.execute(
                uri: "/api/v1/checkins", method: .post,
                headers: [.authorization: "Bearer \(kiosk)", .contentType: "image/jpeg"],
                body: ByteBuffer(bytes: left[1])
            ) { response in
                (
                    response.status,
                    ((try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]) ?? [:]
                )
            }
            #expect(
                single.0 == .unprocessableContent && single.1["code"] as? String == "liveness_required", "\(single.1)")

            /// A check-in by the kiosk with a new challenge and the frames for its turn (`frames(turn)`).
            func checkIn(_ frames: (String) -> [[UInt8]], token: String? = nil) async throws
                -> (status: HTTPResponse.Status, body: [String: Any])
            {
                let challenge = try await Self.challenge(client, token: token ?? kiosk)
                return try await Self.post(
                    client, token: token ?? kiosk, challenge: challenge.id, images: frames(challenge.turn))
            }
            func reason(_ answer: (status: HTTPResponse.Status, body: [String: Any])) -> String? {
                answer.status == .unprocessableContent && answer.body["code"] as? String == "liveness_failed"
                    ? answer.body["reason"] as? String : "\(answer.status.code) \(answer.body)"
            }

            // The wrong way, no turn, a flat print, two people: refused with the reason, nobody checked in.
            #expect(reason(try await checkIn { $0 == "left" ? right : left }) == "wrong_direction")
            #expect(reason(try await checkIn { _ in still }) == "no_turn")
            let detected = try await client.execute(
                uri: "/api/v1/detect", method: .post,
                headers: [.authorization: "Bearer \(admin)", .contentType: "image/jpeg"],
                body: ByteBuffer(bytes: left[0])
            ) { response in (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] }
            let points = try #require(
                ((detected?["faces"] as? [[String: Any]])?.first?["landmarks"] as? [[String: Double]]))
            let landmarks = points.map { Point(x: Float($0["x"]!), y: Float($0["y"]!)) }
            // Held up and turned 40° the asked way (a positive angle takes the sheet's right side away: the turn to
            // its person's own left).
            let printLeft = try Self.flatPrint(of: left[0], landmarks: landmarks, degrees: 40)
            let printRight = try Self.flatPrint(of: left[0], landmarks: landmarks, degrees: -40)
            for _ in 0..<2 {
                #expect(reason(try await checkIn { $0 == "left" ? printLeft : printRight }) == "flat_face")
            }
            #expect(
                reason(try await checkIn { turn in Array(left.prefix(3)) + Array(other.suffix(3)) })
                    == "different_people")
            #expect(
                (try await client.json(.get, "/api/v1/checkins?member_id=\(member)", token: admin)
                    .body["checkins"] as? [[String: Any]])?.isEmpty == true)

            // A real turn, each way: checked in (the second is the same visit).
            let admitted = try await checkIn { $0 == "left" ? left : right }
            #expect(
                admitted.status == .created && (admitted.body["member"] as? [String: Any])?["id"] as? String == member,
                "\(admitted.body)")
            let again = try await checkIn({ $0 == "left" ? left : right }, token: desk)
            #expect(again.status == .ok, "\(again.body)")

            // A challenge is used once, by its own account, and only with 2 to 8 frames.
            let used = try await Self.challenge(client, token: kiosk)
            let frames = used.turn == "left" ? left : right
            #expect(
                try await Self.post(client, token: kiosk2, challenge: used.id, images: frames).body["code"] as? String
                    == "challenge_invalid")
            _ = try await Self.post(client, token: kiosk, challenge: used.id, images: frames)
            #expect(
                try await Self.post(client, token: kiosk, challenge: used.id, images: frames).body["code"] as? String
                    == "challenge_invalid")
            #expect(
                try await Self.post(client, token: kiosk, challenge: UUID().uuidString, images: frames).status
                    == .conflict)
            let one = try await Self.post(client, token: kiosk, challenge: used.id, images: [frames[0]])
            #expect(one.status == .badRequest && one.body["code"] as? String == "invalid_field", "\(one.body)")
            let many = try await Self.post(client, token: kiosk, challenge: used.id, images: frames + frames)
            #expect(many.status == .badRequest, "\(many.body)")

            // Refusals are on the attempt record with their reason, and in the metrics.
            let attempts = try #require(
                try await client.json(
                    .get, "/api/v1/checkins/attempts?outcome=liveness_failed", token: admin
                ).body["attempts"] as? [[String: Any]])
            #expect(
                Set(attempts.compactMap { $0["reason"] as? String })
                    == ["wrong_direction", "no_turn", "flat_face", "different_people"])
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("facegate_liveness_refusals_total{reason=\"flat_face\"} 2"), "\(metrics)")
            #expect(metrics.contains("facegate_liveness_refusals_total{reason=\"wrong_direction\"} 1"))

            // Off (the terminals bring their own liveness): the kiosk's single photo is judged as a photo again.
            let off = try await client.json(
                .patch, "/api/v1/organizations/\(organization)", token: admin,
                body: ["liveness": "off"])
            #expect(off.status == .ok && off.body["liveness"] as? String == "off")
            #expect(
                try await client.json(
                    .patch, "/api/v1/organizations/\(organization)", token: admin,
                    body: ["liveness": "sometimes"]
                ).status == .badRequest)
            #expect(
                try await client.json(
                    .patch, "/api/v1/organizations/\(organization)", token: kiosk,
                    body: ["liveness": "challenge"]
                ).status == .forbidden)
            let photo = try await client.execute(
                uri: "/api/v1/checkins", method: .post,
                headers: [.authorization: "Bearer \(kiosk)", .contentType: "image/jpeg"],
                body: ByteBuffer(bytes: left[1])
            ) { $0.status }
            #expect(photo == .ok)  // the member, already in
        }
    }
}
