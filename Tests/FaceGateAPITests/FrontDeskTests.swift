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
@Suite("Front desk", .requiresFacesAndModels)
struct FrontDeskTests {
    /// Today's date in a UTC offset of `hours` (for time zones without daylight saving time).
    static func today(utcOffsetHours hours: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: hours * 3600)!
        let day = calendar.dateComponents([.year, .month, .day], from: Date())
        return String(format: "%04d-%02d-%02d", day.year!, day.month!, day.day!)
    }

    @Test("an inactive or expired membership is refused with its reason and nothing recorded; staff check in by hand; every attempt is on the record")
    func frontDesk() async throws {
        try await withApplication(recognizers: .modelFiles) { client, _ in
            let admin = try await client.accessToken()
            let organization = try #require(try await client.json(.get, "/api/v1/auth/me", token: admin)
                .body["organization_id"] as? String)
            for (username, role) in [("door", "kiosk"), ("desk", "operator")] {
                _ = try await client.json(.post, "/api/v1/users", token: admin, body: [
                    "username": username, "password": "a long enough password", "role": role])
            }
            let kiosk = try await client.accessToken(username: "door", password: "a long enough password")
            let desk = try await client.accessToken(username: "desk", password: "a long enough password")
            let created = try await client.json(.post, "/api/v1/members", token: admin, body: [
                "name": "Barack Obama", "external_id": "44", "status": "paused"])
            #expect(created.status == .created && created.body["status"] as? String == "paused")
            #expect(created.body["valid_until"] == nil)
            let obama = try #require(created.body["id"] as? String)
            #expect(try await CheckinFlowTests.post(client, "/api/v1/members/\(obama)/faces", token: admin,
                                                    photo: "face_recognition/obama/obama.jpg").status == .created)
            let biden = try #require(try await client.json(.post, "/api/v1/members", token: admin, body: [
                "name": "Joe Biden"]).body["id"] as? String)

            func checkIn(_ photo: String = "face_recognition/obama/obama2.jpg") async throws
                -> (status: HTTPResponse.Status, body: [String: Any]) {
                try await CheckinFlowTests.post(client, "/api/v1/checkins", token: kiosk, photo: photo)
            }
            func refusal(_ answer: (status: HTTPResponse.Status, body: [String: Any])) -> String? {
                guard answer.status == .forbidden, answer.body["code"] as? String == "membership_inactive",
                      let member = answer.body["member"] as? [String: Any], member["id"] as? String == obama,
                      member["name"] as? String == "Barack Obama" else { return nil }
                return answer.body["reason"] as? String
            }

            // Paused, then cancelled: recognised, greeted by name, sent to the desk.
            #expect(refusal(try await checkIn()) == "paused")
            #expect(try await client.json(.patch, "/api/v1/members/\(obama)", token: desk,
                                          body: ["status": "cancelled"]).body["status"] as? String == "cancelled")
            #expect(refusal(try await checkIn()) == "cancelled")

            // Active until the last day of Pago Pago (UTC−11): that day ends at Pago Pago's midnight, which Kiritimati
            // (UTC+14) has always passed, so there the membership has ended.
            let lastDay = Self.today(utcOffsetHours: -11)
            let active = try await client.json(.patch, "/api/v1/members/\(obama)", token: admin,
                                               body: ["status": "active", "valid_until": lastDay])
            #expect(active.body["status"] as? String == "active" && active.body["valid_until"] as? String == lastDay)
            let kiritimati = try await client.json(.patch, "/api/v1/organizations/\(organization)", token: admin,
                                                   body: ["time_zone": "pacific/kiritimati"])
            #expect(kiritimati.status == .ok && kiritimati.body["time_zone"] as? String == "Pacific/Kiritimati")
            #expect(refusal(try await checkIn()) == "expired")
            #expect((try await client.json(.get, "/api/v1/checkins?member_id=\(obama)", token: admin)
                .body["checkins"] as? [[String: Any]])?.isEmpty == true)

            _ = try await client.json(.patch, "/api/v1/organizations/\(organization)", token: admin,
                                      body: ["time_zone": "Pacific/Pago_Pago"])
            let admitted = try await checkIn()
            #expect(admitted.status == .created && admitted.body["method"] as? String == "face", "\(admitted.body)")
            #expect(try await checkIn("face_recognition/obama/obama1.jpg").status == .ok)  // the same visit
            // Clearing the end date: the membership no longer ends.
            let open = try await client.json(.patch, "/api/v1/members/\(obama)", token: admin, body: ["valid_until": NSNull()])
            #expect(open.status == .ok && open.body["valid_until"] == nil)

            // Bad settings are 400s: an unknown time zone, a status or date that is not one.
            #expect(try await client.json(.patch, "/api/v1/organizations/\(organization)", token: admin,
                                          body: ["time_zone": "Mars/Olympus"]).body["code"] as? String == "invalid_field")
            #expect(try await client.json(.patch, "/api/v1/organizations/\(organization)", token: desk,
                                          body: ["time_zone": "UTC"]).status == .forbidden)
            for body: [String: Any] in [["status": "frozen"], ["valid_until": "2026-02-30"], ["valid_until": "31.12.2026"]] {
                let answer = try await client.json(.patch, "/api/v1/members/\(obama)", token: admin, body: body)
                #expect(answer.status == .badRequest && answer.body["code"] as? String == "invalid_field", "\(body)")
            }

            // Staff check-in by hand: not for a kiosk; needs a known member and a reason; audited.
            let manual: [String: Any] = ["member_id": biden, "reason": "forgot his card"]
            #expect(try await client.json(.post, "/api/v1/checkins", token: kiosk, body: manual).status == .forbidden)
            let byHand = try await client.json(.post, "/api/v1/checkins", token: desk, body: manual)
            #expect(byHand.status == .created && byHand.body["method"] as? String == "manual", "\(byHand.body)")
            #expect(byHand.body["distance"] == nil && (byHand.body["member"] as? [String: Any])?["id"] as? String == biden)
            #expect(try await client.json(.post, "/api/v1/checkins", token: desk, body: [
                "member_id": UUID().uuidString, "reason": "walked in"]).status == .notFound)
            #expect(try await client.json(.post, "/api/v1/checkins", token: desk, body: [
                "member_id": biden, "reason": "  "]).body["code"] as? String == "invalid_field")
            let exported = try await client.json(.get, "/api/v1/members/\(biden)/export", token: admin).body
            let audited = (exported["audit_log"] as? [[String: Any]] ?? []).filter { $0["action"] as? String == "checkin_manual" }
            #expect(audited.count == 1 && (audited.first?["details"] as? [String: Any])?["reason"] as? String == "forgot his card",
                    "\(exported["audit_log"] ?? [])")

            // A stranger and a photo without a face.
            #expect(try await checkIn("face_recognition/biden/biden.jpg").body["code"] as? String == "no_match")
            #expect(try await checkIn("edge_cases/noface/white_640x480.jpg").body["code"] as? String == "no_face")

            // Every attempt, newest first, with the member it was about (a stranger's nearest member too).
            let record = try await client.json(.get, "/api/v1/checkins/attempts?limit=200", token: desk)
            let attempts = try #require(record.body["attempts"] as? [[String: Any]])
            let seen = attempts.map { "\($0["method"] as? String ?? "?"):\($0["outcome"] as? String ?? "?")" }
            #expect(seen == ["face:no_face", "face:no_match", "manual:invalid_field", "manual:not_found",
                             "manual:checked_in", "manual:forbidden", "face:repeat", "face:checked_in",
                             "face:membership_inactive", "face:membership_inactive", "face:membership_inactive"],
                    "\(seen)")
            #expect(attempts.filter { $0["outcome"] as? String == "membership_inactive" }.compactMap { $0["reason"] as? String }
                    == ["expired", "cancelled", "paused"])
            #expect((attempts[1]["member"] as? [String: Any])?["id"] as? String == obama && attempts[1]["distance"] is Double)
            #expect(attempts[4]["reason"] as? String == "forgot his card" && attempts[4]["checkin_id"] as? String
                    == byHand.body["checkin_id"] as? String)
            let refused = try await client.json(.get, "/api/v1/checkins/attempts?outcome=membership_inactive&limit=2",
                                                token: admin)
            #expect((refused.body["attempts"] as? [[String: Any]])?.count == 2 && refused.body["next_cursor"] is String)
            #expect(try await client.json(.get, "/api/v1/checkins/attempts", token: kiosk).status == .forbidden)

            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("facegate_checkin_attempts_total{method=\"face\",outcome=\"membership_inactive\"} 3"),
                        "\(text.split(separator: "\n").filter { $0.contains("checkin_attempts") })")
            }

            // The manual check-in is in the check-in list and export with its method and no distance.
            let listed = try await client.json(.get, "/api/v1/checkins?member_id=\(biden)", token: admin)
            #expect((listed.body["checkins"] as? [[String: Any]])?.first?["method"] as? String == "manual")
            try await client.execute(uri: "/api/v1/checkins/export", method: .get,
                                     headers: [.authorization: "Bearer \(admin)"]) { response in
                let lines = String(buffer: response.body).split(whereSeparator: \.isNewline).map(String.init)
                #expect(lines.first == "checked_in_at,member_id,external_id,name,distance,method")
                #expect(lines.contains { $0.hasSuffix(",Joe Biden,,manual") } && lines.contains { $0.hasSuffix(",face") },
                        "\(lines)")
            }

            // Erasing a member leaves the attempts, no longer naming them.
            #expect(try await client.json(.delete, "/api/v1/members/\(obama)", token: admin).status == .noContent)
            let after = try await client.json(.get, "/api/v1/checkins/attempts?limit=200", token: admin)
            let remaining = try #require(after.body["attempts"] as? [[String: Any]])
            #expect(remaining.count == attempts.count && !remaining.contains {
                ($0["member"] as? [String: Any])?["id"] as? String == obama })
        }
    }
}
