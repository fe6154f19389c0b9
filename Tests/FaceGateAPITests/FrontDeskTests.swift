import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// The kiosk as a front desk, with the real models and photos: a membership that is paused, cancelled or past its
/// last day (in the organisation's time zone) keeps the door shut with the reason and records nothing; staff check
/// members in by hand (audited); every attempt, admitted or refused, is on the attempt record and in the metrics.
@Suite("Front desk", .requiresDatabase, .requiresFacesAndModels)
struct FrontDeskTests {
    /// Today's date in a UTC offset of `hours` (for time zones without daylight saving time).
    static func today(utcOffsetHours hours: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: hours * 3600)!
        let day = calendar.dateComponents([.year, .month, .day], from: Date())
        return String(format: "%04d-%02d-%02d", day.year!, day.month!, day.day!)
    }

    @Test(
        "an inactive or expired membership is refused with its reason and nothing recorded; staff check in by hand; every attempt is on the record"
    )
    func frontDesk() async throws {
        try await withApplication(recognizers: .modelFiles) { client, _ in
            let admin = try await client.accessToken()
            try await client.turnLivenessOff(admin: admin)
            let organization = try #require(
                try await client.json(.get, "/api/v1/auth/me", token: admin)
                    .body["organization_id"] as? String)
            for (username, role) in [("door", "kiosk"), ("desk", "operator")] {
                _ = try await client.json(
                    .post, "/api/v1/users", token: admin,
                    body: [
                        "username": username, "password": "a long enough password", "role": role,
                    ])
            }
            let kiosk = try await client.accessToken(username: "door", password: "a long enough password")
            let desk = try await client.accessToken(username: "desk", password: "a long enough password")
            let created = try await client.json(
                .post, "/api/v1/members", token: admin,
                body: [
                    "name": "Barack Obama", "external_id": "44", "status": "paused",
                ])
            #expect(created.status == .created && created.body["status"] as? String == "paused")
            #expect(created.body["valid_until"] == nil)
            let obama = try #require(created.body["id"] as? String)
            #expect(
                try await CheckinFlowTests.post(
                    client, "/api/v1/members/\(obama)/faces", token: admin,
                    photo: "face_recognition/obama/obama.jpg"
                ).status == .created)
            let biden = try #require(
                try await client.json(
                    .post, "/api/v1/members", token: admin,
                    body: [
                        "name": "Joe Biden"
                    ]
                ).body["id"] as? String)

            func checkIn(_ photo: String = "face_recognition/obama/obama2.jpg") async throws
                -> (status: HTTPResponse.Status, body: [String: Any])
            {
                try await CheckinFlowTests.post(client, "/api/v1/checkins", token: kiosk, photo: photo)
            }
            func refusal(_ answer: (status: HTTPResponse.Status, body: [String: Any])) -> String? {
                guard answer.status == .forbidden, answer.body["code"] as? String == "membership_inactive",
                    let member = answer.body["member"] as? [String: Any], member["id"] as? String == obama,
                    member["name"] as? String == "Barack Obama"
                else { return nil }
                return answer.body["reason"] as? String
            }

            // Paused, then cancelled: recognised, greeted by name, sent to the desk.
            #expect(refusal(try await checkIn()) == "paused")
            #expect(
                try await client.json(
                    .patch, "/api/v1/members/\(obama)", token: desk,
                    body: ["status": "cancelled"]
                ).body["status"] as? String == "cancelled")
            #expect(refusal(try await checkIn()) == "cancelled")

            // Active until the last day of Pago Pago (UTC−11): that day ends at Pago Pago's midnight, which Kiritimati
            // (UTC+14) has always passed, so there the membership has ended.
            let lastDay = Self.today(utcOffsetHours: -11)
            let active = try await client.json(
                .patch, "/api/v1/members/\(obama)", token: admin,
                body: ["status": "active", "valid_until": lastDay])
            #expect(active.body["status"] as? String == "active" && active.body["valid_until"] as? String == lastDay)
            let kiritimati = try await client.json(
                .patch, "/api/v1/organizations/\(organization)", token: admin,
                body: ["time_zone": "pacific/kiritimati"])
            #expect(kiritimati.status == .ok && kiritimati.body["time_zone"] as? String == "Pacific/Kiritimati")
            #expect(refusal(try await checkIn()) == "expired")
            #expect(
                (try await client.json(.get, "/api/v1/checkins?member_id=\(obama)", token: admin)
                    .body["checkins"] as? [[String: Any]])?.isEmpty == true)

            _ = try await client.json(
                .patch, "/api/v1/organizations/\(organization)", token: admin,
                body: ["time_zone": "Pacific/Pago_Pago"])
            let admitted = try await checkIn()
            #expect(admitted.status == .created && admitted.body["method"] as? String == "face", "\(admitted.body)")
            #expect(try await checkIn("face_recognition/obama/obama1.jpg").status == .ok)  // the same visit
            // Clearing the end date: the membership no longer ends.
            let open = try await client.json(
                .patch, "/api/v1/members/\(obama)", token: admin, body: ["valid_until": NSNull()])
            #expect(open.status == .ok && open.body["valid_until"] == nil)

            // Bad settings are 400s: an unknown time zone, a status or date that is not one.
            #expect(
                try await client.json(
                    .patch, "/api/v1/organizations/\(organization)", token: admin,
                    body: ["time_zone": "Mars/Olympus"]
                ).body["code"] as? String == "invalid_field")
            #expect(
                try await client.json(
                    .patch, "/api/v1/organizations/\(organization)", token: desk,
                    body: ["time_zone": "UTC"]
                ).status == .forbidden)
            for body: [String: Any] in [
                ["status": "frozen"], ["valid_until": "2026-02-30"], ["valid_until": "31.12.2026"],
            ] {
                let answer = try await client.json(.patch, "/api/v1/members/\(obama)", token: admin, body: body)
                #expect(answer.status == .badRequest && answer.body["code"] as? String == "invalid_field", "\(body)")
            }

            // Staff check-in by hand: not for a kiosk; needs a known member and a reason; audited.
            let manual: [String: Any] = ["member_id": biden, "reason": "forgot his card"]
            #expect(try await client.json(.post, "/api/v1/checkins", token: kiosk, body: manual).status == .forbidden)
            let byHand = try await client.json(.post, "/api/v1/checkins", token: desk, body: manual)
            #expect(byHand.status == .created && byHand.body["method"] as? String == "manual", "\(byHand.body)")
            #expect(
                byHand.body["distance"] == nil && (byHand.body["member"] as? [String: Any])?["id"] as? String == biden)
            #expect(
                try await client.json(
                    .post, "/api/v1/checkins", token: desk,
                    body: [
                        "member_id": UUID().uuidString, "reason": "walked in",
                    ]
                ).status == .notFound)
            #expect(
                try await client.json(
                    .post, "/api/v1/checkins", token: desk,
                    body: [
                        "member_id": biden, "reason": "  ",
                    ]
                ).body["code"] as? String == "invalid_field")
            let exported = try await client.json(.get, "/api/v1/members/\(biden)/export", token: admin).body
            let audited = (exported["audit_log"] as? [[String: Any]] ?? []).filter {
                $0["action"] as? String == "checkin_manual"
            }
            #expect(
                audited.count == 1
                    && (audited.first?["details"] as? [String: Any])?["reason"] as? String == "forgot his card",
                "\(exported["audit_log"] ?? [])")

            // A stranger and a photo without a face.
            #expect(try await checkIn("face_recognition/biden/biden.jpg").body["code"] as? String == "no_match")
            #expect(try await checkIn("edge_cases/noface/white_640x480.jpg").body["code"] as? String == "no_face")

            // Every attempt, newest first, with the member it was about (a stranger's nearest member too).
            let record = try await client.json(.get, "/api/v1/checkins/attempts?limit=200", token: desk)
            let attempts = try #require(record.body["attempts"] as? [[String: Any]])
            let seen = attempts.map { "\($0["method"] as? String ?? "?"):\($0["outcome"] as? String ?? "?")" }
            #expect(
                seen == [
                    "face:no_face", "face:no_match", "manual:invalid_field", "manual:not_found",
                    "manual:checked_in", "manual:forbidden", "face:repeat", "face:checked_in",
                    "face:membership_inactive", "face:membership_inactive", "face:membership_inactive",
                ],
                "\(seen)")
            #expect(
                attempts.filter { $0["outcome"] as? String == "membership_inactive" }.compactMap {
                    $0["reason"] as? String
                }
                    == ["expired", "cancelled", "paused"])
            #expect(
                (attempts[1]["member"] as? [String: Any])?["id"] as? String == obama
                    && attempts[1]["distance"] is Double)
            #expect(
                attempts[4]["reason"] as? String == "forgot his card"
                    && attempts[4]["checkin_id"] as? String
                        == byHand.body["checkin_id"] as? String
            )
            let refused = try await client.json(
                .get, "/api/v1/checkins/attempts?outcome=membership_inactive&limit=2",
                token: admin)
            #expect((refused.body["attempts"] as? [[String: Any]])?.count == 2 && refused.body["next_cursor"] is String)
            #expect(try await client.json(.get, "/api/v1/checkins/attempts", token: kiosk).status == .forbidden)

            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(
                    text.contains("facegate_checkin_attempts_total{method=\"face\",outcome=\"membership_inactive\"} 3"),
                    "\(text.split(separator: "\n").filter { $0.contains("checkin_attempts") })")
            }

            // The manual check-in is in the check-in list and export with its method and no distance.
            let listed = try await client.json(.get, "/api/v1/checkins?member_id=\(biden)", token: admin)
            #expect((listed.body["checkins"] as? [[String: Any]])?.first?["method"] as? String == "manual")
            try await client.execute(
                uri: "/api/v1/checkins/export", method: .get,
                headers: [.authorization: "Bearer \(admin)"]
            ) { response in
                let lines = String(buffer: response.body).split(whereSeparator: \.isNewline).map(String.init)
                #expect(lines.first == "checked_in_at,member_id,external_id,name,distance,method")
                #expect(
                    lines.contains { $0.hasSuffix(",Joe Biden,,manual") } && lines.contains { $0.hasSuffix(",face") },
                    "\(lines)")
            }

            // Erasing a member leaves the attempts, no longer naming them.
            #expect(try await client.json(.delete, "/api/v1/members/\(obama)", token: admin).status == .noContent)
            let after = try await client.json(.get, "/api/v1/checkins/attempts?limit=200", token: admin)
            let remaining = try #require(after.body["attempts"] as? [[String: Any]])
            #expect(
                remaining.count == attempts.count
                    && !remaining.contains {
                        ($0["member"] as? [String: Any])?["id"] as? String == obama
                    })
        }
    }
}

/// The PIN band and the member number, with the real models and photos. The 1:N tolerance is made so strict that no
/// second photo of anyone matches by face alone, and the 1:1 rule (FACE_CONFIRM_TARGET_FAR) is the one-face
/// gallery's: a member's other photo lands in the band.
@Suite("Front desk: PIN band and member number", .requiresDatabase, .requiresFacesAndModels)
struct PINBandTests {
    static func answer(_ client: any TestClientProtocol, _ uri: String, token: String, json body: [String: Any])
        async throws -> (status: HTTPResponse.Status, body: [String: Any])
    {
        try await client.json(.post, uri, token: token, body: body)
    }

    static func photoJSON(_ path: String, code: String? = nil) throws -> [String: Any] {
        var body: [String: Any] = ["image_base64": Data(try TestEnvironment.photo(path)).base64EncodedString()]
        if let code { body["member_code"] = code }
        return body
    }

    @Test(
        "a member's harder photo goes to the PIN pad: the right PIN checks them in, wrong ones do not and lock the PIN; a member number with the face checks in 1:1"
    )
    func band() async throws {
        try await withApplication(
            { configuration in
                configuration.engine.matchTolerance = 0.05
                configuration.engine.confirmTargetFAR = 0.01
                configuration.checkin.dedupSeconds = 0
            }, recognizers: .modelFiles
        ) { client, _ in
            let admin = try await client.accessToken()
            try await client.turnLivenessOff(admin: admin)
            for (username, role) in [("door", "kiosk"), ("door2", "kiosk"), ("desk", "operator")] {
                _ = try await client.json(
                    .post, "/api/v1/users", token: admin,
                    body: [
                        "username": username, "password": "a long enough password", "role": role,
                    ])
            }
            let kiosk = try await client.accessToken(username: "door", password: "a long enough password")
            let otherKiosk = try await client.accessToken(username: "door2", password: "a long enough password")
            let desk = try await client.accessToken(username: "desk", password: "a long enough password")
            let created = try await client.json(
                .post, "/api/v1/members", token: admin,
                body: [
                    "name": "Barack Obama", "external_id": "44", "pin": "4711",
                ])
            #expect(
                created.body["has_pin"] as? Bool == true && created.body["pin"] == nil
                    && created.body["pin_locked"] as? Bool == false)
            let obama = try #require(created.body["id"] as? String)
            let biden = try #require(
                try await client.json(
                    .post, "/api/v1/members", token: admin,
                    body: [
                        "name": "Joe Biden", "external_id": "46", "pin": "1234",
                    ]
                ).body["id"] as? String)
            for (member, photo) in [
                (obama, "face_recognition/obama/obama.jpg"), (biden, "face_recognition/biden/biden.jpg"),
            ] {
                #expect(
                    try await CheckinFlowTests.post(
                        client, "/api/v1/members/\(member)/faces", token: admin,
                        photo: photo
                    ).status == .created)
            }
            #expect(
                try await client.json(.patch, "/api/v1/members/\(obama)", token: admin, body: ["pin": "12"])
                    .body["code"] as? String == "invalid_field")

            func ask() async throws -> String {
                let asked = try await Self.answer(
                    client, "/api/v1/checkins", token: kiosk,
                    json: try Self.photoJSON("face_recognition/obama/obama2.jpg"))
                #expect(
                    asked.status == .accepted && asked.body["code"] as? String == "needs_confirmation", "\(asked.body)")
                #expect(asked.body["member"] == nil && asked.body["method"] as? String == "pin")
                return try #require(asked.body["confirmation_id"] as? String)
            }
            func pin(_ confirmation: String, _ pin: String, token: String? = nil) async throws
                -> (status: HTTPResponse.Status, body: [String: Any])
            {
                try await Self.answer(
                    client, "/api/v1/checkins/confirmations/\(confirmation)", token: token ?? kiosk,
                    json: ["pin": pin])
            }

            // The PIN pad: another account cannot use the confirmation; a wrong PIN, then the right one.
            let first = try await ask()
            #expect(try await pin(first, "4711", token: otherKiosk).status == .notFound)
            let wrong = try await pin(first, "0000")
            #expect(
                wrong.status == .forbidden && wrong.body["code"] as? String == "wrong_pin"
                    && wrong.body["attempts_left"] as? Int == 2, "\(wrong.body)")
            let right = try await pin(first, "4711")
            #expect(
                right.status == .created && right.body["method"] as? String == "face_pin"
                    && (right.body["member"] as? [String: Any])?["id"] as? String == obama, "\(right.body)")
            #expect(try await pin(first, "4711").status == .notFound)  // single use

            // Guessing: three wrong PINs end a confirmation; five in an hour, across confirmations, lock the PIN.
            let second = try await ask()
            for left in [2, 1, 0] { #expect(try await pin(second, "9999").body["attempts_left"] as? Int == left) }
            #expect(try await pin(second, "4711").status == .notFound)
            let third = try await ask()
            _ = try await pin(third, "9998")
            #expect(try await pin(third, "9997").body["attempts_left"] as? Int == 1)
            let locked = try await client.json(.get, "/api/v1/members/\(obama)", token: desk)
            #expect(locked.body["pin_locked"] as? Bool == true)
            let noPad = try await Self.answer(
                client, "/api/v1/checkins", token: kiosk,
                json: try Self.photoJSON("face_recognition/obama/obama2.jpg"))
            #expect(noPad.status == .notFound && noPad.body["code"] as? String == "no_match", "\(noPad.body)")
            #expect(
                try await client.json(.patch, "/api/v1/members/\(obama)", token: desk, body: ["pin_locked": false])
                    .body["pin_locked"] as? Bool == false)
            #expect(try await pin(try await ask(), "4711").status == .created)
            let exported = try await client.json(.get, "/api/v1/members/\(obama)/export", token: admin).body
            let actions = (exported["audit_log"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            #expect(actions.contains("pin_locked") && actions.contains("pin_unlocked"), "\(actions)")

            // Member number + face, 1:1, in each body style; a wrong face and an unknown number answer alike.
            let coded = try await Self.answer(
                client, "/api/v1/checkins", token: kiosk,
                json: try Self.photoJSON("face_recognition/obama/obama2.jpg", code: "44"))
            #expect(coded.status == .created && coded.body["method"] as? String == "code_face", "\(coded.body)")
            try await client.execute(
                uri: "/api/v1/checkins?member_code=44", method: .post,
                headers: [.authorization: "Bearer \(kiosk)", .contentType: "image/jpeg"],
                body: ByteBuffer(bytes: try TestEnvironment.photo("face_recognition/obama/obama1.jpg"))
            ) {
                #expect($0.status == .created && String(buffer: $0.body).contains("\"code_face\""))
            }
            let boundary = "facegate-test-boundary"
            var multipart = ByteBuffer(
                string: "--\(boundary)\r\nContent-Disposition: form-data; name=\"member_code\"\r\n\r\n44\r\n"
                    + "--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.jpg\"\r\n"
                    + "Content-Type: image/jpeg\r\n\r\n")
            multipart.writeBytes(try TestEnvironment.photo("face_recognition/obama/obama2.jpg"))
            multipart.writeString("\r\n--\(boundary)--\r\n")
            try await client.execute(
                uri: "/api/v1/checkins", method: .post,
                headers: [
                    .authorization: "Bearer \(kiosk)",
                    .contentType: "multipart/form-data; boundary=\(boundary)",
                ],
                body: multipart
            ) {
                #expect($0.status == .created && String(buffer: $0.body).contains("\"code_face\""))
            }
            let strangerWithCode = try await Self.answer(
                client, "/api/v1/checkins", token: kiosk,
                json: try Self.photoJSON("face_recognition/biden/biden.jpg", code: "44"))
            let unknownCode = try await Self.answer(
                client, "/api/v1/checkins", token: kiosk,
                json: try Self.photoJSON("face_recognition/obama/obama2.jpg", code: "45"))
            #expect(strangerWithCode.status == .notFound && strangerWithCode.body["code"] as? String == "no_match")
            #expect(unknownCode.status == .notFound && unknownCode.body["code"] as? String == "no_match")
            // A number tried over and over is slowed down (five at once, then ten a minute: one more for every 6 s the
            // tries themselves took).
            try await RateLimitTests.expectRefusalAfter(5, refillSeconds: 6) {
                let status = try await Self.answer(
                    client, "/api/v1/checkins", token: kiosk,
                    json: try Self.photoJSON("face_recognition/biden/biden.jpg", code: "77")
                ).status
                guard status == .notFound else {
                    #expect(status == .tooManyRequests)
                    return false
                }
                return true
            }
            // A known number tried with other faces: five tries an hour, then even the member's own face is refused
            // for the rest of it (audited), so a folder of look-alikes gets five tries, not thousands.
            for _ in 0..<5 {
                #expect(
                    try await Self.answer(
                        client, "/api/v1/checkins", token: kiosk,
                        json: try Self.photoJSON(
                            "face_recognition/obama/obama2.jpg", code: "46")
                    ).body["code"] as? String == "no_match")
            }
            try await Task.sleep(for: .seconds(7))  // a token of the per-number rate limit back
            let ownFace = try await Self.answer(
                client, "/api/v1/checkins", token: kiosk,
                json: try Self.photoJSON("face_recognition/biden/biden2.jpg", code: "46"))
            #expect(ownFace.status == .notFound && ownFace.body["code"] as? String == "no_match", "\(ownFace.body)")
            let bidenData = try await client.json(.get, "/api/v1/members/\(biden)/export", token: admin).body
            #expect(
                (bidenData["audit_log"] as? [[String: Any]] ?? []).contains {
                    $0["action"] as? String == "member_code_locked"
                }, "\(bidenData["audit_log"] ?? [])")

            // On the record: the PIN pad, the wrong PINs, the PIN check-in, the member numbers.
            let record = try await client.json(.get, "/api/v1/checkins/attempts?limit=200", token: desk)
            let seen = Set(
                (record.body["attempts"] as? [[String: Any]] ?? []).map {
                    "\($0["method"] as? String ?? "?"):\($0["outcome"] as? String ?? "?")"
                })
            #expect(
                seen.isSuperset(of: [
                    "face:needs_confirmation", "face_pin:wrong_pin", "face_pin:checked_in",
                    "face_pin:not_found", "code_face:checked_in", "code_face:no_match",
                    "code_face:rate_limited", "face:no_match",
                ]), "\(seen)")
        }
    }
}
