import FaceGateAPI
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Members in and out, end to end: the `facegate` executable imports a CSV file and a folder of real photos (real
/// models, a real database) while the service runs, the service checks the imported members in, and the exports
/// (`facegate export`, the API's) give the data back.
@Suite("Member import and exports", .requiresDatabase, .requiresFacesAndModels)
struct ImportExportTests {
    /// Runs the built `facegate` with the test service's configuration for the database at `url`, from `folder` (so
    /// that no `.env` of the repository is read).
    static func facegate(_ arguments: [String], url: String, in folder: String) async throws -> ChildProcess.Result {
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in testEnvironment(databaseURL: url) { environment[name] = value }
        environment["OPENBLAS_NUM_THREADS"] = "1"
        return try await ChildProcess(
            TestEnvironment.facegateBinary, arguments: arguments, environment: environment, currentDirectory: folder,
            timeLimit: .seconds(600)
        ).run()
    }

    /// The JSON summary an import prints as its last stdout line.
    static func summary(_ result: ChildProcess.Result) throws -> [String: Any] {
        let last = try #require(
            result.standardOutput.split(separator: "\n").last, "no summary: \(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "\(last)")
    }

    /// The summary's counts that an import's outcome is judged by.
    static func counts(_ summary: [String: Any]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for key in [
            "members_created", "members_updated", "members_unchanged", "faces_enrolled", "faces_skipped",
            "refused", "errors",
        ] {
            counts[key] = summary[key] as? Int ?? -1
        }
        return counts
    }

    /// A folder of photos copied from ../shared/faces (the import refuses links leading out of its folder), a file
    /// outside it, and the CSV file of ten members (and one row repeating a member) that exercises every outcome.
    static func makeImport(in root: String) throws {
        let photos = root + "/photos"
        for (copy, original) in [
            ("obama/obama.jpg", "face_recognition/obama/obama.jpg"),
            ("obama/obama1.jpg", "face_recognition/obama/obama1.jpg"),
            ("biden/biden.jpg", "face_recognition/biden/biden.jpg"),
            ("kit/john1.jpeg", "face_recognition/kit_harington/john1.jpeg"),
            ("noface/landscape.jpg", "compreface/noface/landscape.jpg"),
        ] {
            let target = photos + "/" + copy
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: TestEnvironment.facesRoot + "/" + original, toPath: target)
        }
        try FileManager.default.createDirectory(atPath: photos + "/bad", withIntermediateDirectories: true)
        try Data("this is not a photo\n".utf8).write(to: URL(fileURLWithPath: photos + "/bad/not-a-photo.jpg"))
        try FileManager.default.copyItem(
            atPath: TestEnvironment.facesRoot + "/face_recognition/obama/obama2.jpg", toPath: root + "/outside.jpg")
        // The membership and PIN columns empty (left as they are) unless a row gives them.
        func line(_ fields: [String], membership: [String] = ["", "", ""]) -> String {
            CSVTable.line(fields + membership)
        }
        let csv =
            CSVTable.line(["external_id", "name", "email", "photos", "metadata", "status", "valid_until", "pin"])
            + line(
                ["44", "Barack Obama", "barack@example.org", "obama/obama.jpg; obama/obama1.jpg", #"{"plan":"gold"}"#],
                membership: ["active", "2030-12-31", "4711"])
            + line(["46", "Joe Biden", "", "biden/biden.jpg", ""])
            + line(["K-1", "Kit Harington", "kit@example.org", "kit/john1.jpeg;noface/landscape.jpg", "{}"])
            // Barack Obama's photo again, for someone else.
            + line(["X-1", "Impostor", "", "obama/obama1.jpg", ""])
            // A field too many.
            + "E-1,Extra,e@example.org,,{},,,,surplus\n"
            + line(["F-1", "Fay", "not-an-email", "", ""])
            + line(["G-1", "Gil", "", "bad/not-a-photo.jpg", ""])
            + line(["H-1", "Hal", "", "missing/nothing.jpg", ""])
            + line(["I-1", "Ida", "", "../outside.jpg", ""])
            + line(["J-1", "", "j@example.org", "", ""])
            // Barack Obama's row again: a member is one row.
            + line(["44", "Barack H. Obama", "", "", ""])
            // A named pipe where a photo should be: refused, never read (reading it would wait for ever).
            + line(["P-1", "Pia", "", "pipe.jpg", ""])
        #expect(mkfifo(photos + "/pipe.jpg", 0o644) == 0)
        try csv.write(toFile: root + "/members.csv", atomically: true, encoding: .utf8)
    }

    /// The report as (external_id, photo, outcome, code) and the details.
    static func report(_ path: String) throws -> (lines: [[String]], details: [String]) {
        let table = try CSVTable(path: path)
        #expect(table.header == ["external_id", "photo", "outcome", "code", "detail"])
        return (table.records.map { Array($0.fields.prefix(4)) }, table.records.map { $0.fields.last ?? "" })
    }

    static let expectedReport: [[String]] = [
        ["44", "obama/obama.jpg", "enrolled", ""],
        ["44", "obama/obama1.jpg", "enrolled", ""],
        ["46", "biden/biden.jpg", "enrolled", ""],
        ["K-1", "kit/john1.jpeg", "enrolled", ""],
        ["K-1", "noface/landscape.jpg", "refused", "no_face"],
        ["X-1", "obama/obama1.jpg", "refused", "face_belongs_to_other_member"],
        ["E-1", "", "error", "malformed_row"],
        ["F-1", "", "error", "invalid_field"],
        ["G-1", "bad/not-a-photo.jpg", "refused", "unsupported_image_format"],
        ["H-1", "missing/nothing.jpg", "error", "photo_not_found"],
        ["I-1", "../outside.jpg", "error", "photo_outside_folder"],
        ["J-1", "", "error", "invalid_field"],
        ["44", "", "error", "duplicate_external_id"],
        ["P-1", "pipe.jpg", "error", "photo_not_a_file"],
    ]

    @Test(
        "import members: a dry run writes nothing; the import gives the exact report; a second run changes nothing; the service checks an imported member in; export checkins lists it; export members imports back unchanged; the member's own data holds their check-in and no template, and is audited"
    )
    func importAndExport() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-import-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.makeImport(in: root)
        let importArguments = [
            "import", "members", "--csv", root + "/members.csv", "--photos", root + "/photos",
            "--report", root + "/report.csv",
        ]
        try await withApplication(recognizers: .modelFiles) { client, url in
            let admin = try await client.accessToken()

            // A dry run checks everything and writes nothing (Obama's photo for the impostor passes: Obama's faces
            // are not stored in a dry run).
            let dry = try await Self.facegate(importArguments + ["--dry-run"], url: url, in: root)
            #expect(dry.status == 1, "\(dry.standardError)")
            let drySummary = try Self.summary(dry)
            #expect(drySummary["dry_run"] as? Bool == true)
            #expect(
                Self.counts(drySummary) == [
                    "members_created": 5, "members_updated": 0, "members_unchanged": 0, "faces_enrolled": 5,
                    "faces_skipped": 0, "refused": 2, "errors": 7,
                ], "\(drySummary)")
            let nobody = try await client.json(.get, "/api/v1/members", token: admin)
            #expect((nobody.body["members"] as? [[String: Any]])?.isEmpty == true, "\(nobody.body)")

            // The import.
            let first = try await Self.facegate(importArguments, url: url, in: root)
            #expect(first.status == 1, "\(first.standardError)")
            #expect(
                Self.counts(try Self.summary(first)) == [
                    "members_created": 5, "members_updated": 0, "members_unchanged": 0, "faces_enrolled": 4,
                    "faces_skipped": 0, "refused": 3, "errors": 7,
                ], "\(first.standardOutput)")
            let (lines, details) = try Self.report(root + "/report.csv")
            #expect(lines == Self.expectedReport)
            try #require(details.count == Self.expectedReport.count)
            #expect(details[0].hasPrefix("face ") && details[1].hasPrefix("face "))
            #expect(details[6] == "line 6: 9 fields where the header has 8", "\(details[6])")
            #expect(details[7] == "line 7: email: an email address", "\(details[7])")
            #expect(details[9].hasPrefix("line 9: missing/nothing.jpg"), "\(details[9])")
            #expect(details[11] == "line 11: name: required", "\(details[11])")
            #expect(details[12] == "line 12: external_id 44 is already on line 2", "\(details[12])")

            // Members as the API sees them; the faces the report names are the member's.
            let listed = try #require(
                try await client.json(.get, "/api/v1/members?limit=200", token: admin)
                    .body["members"] as? [[String: Any]])
            #expect(Set(listed.compactMap { $0["external_id"] as? String }) == ["44", "46", "K-1", "X-1", "G-1"])
            let obama = try #require(listed.first { $0["external_id"] as? String == "44" })
            let obamaID = try #require(obama["id"] as? String)
            #expect(obama["email"] as? String == "barack@example.org" && obama["face_count"] as? Int == 2)
            #expect(
                obama["status"] as? String == "active" && obama["valid_until"] as? String == "2030-12-31"
                    && obama["has_pin"] as? Bool == true, "\(obama)")
            #expect((obama["metadata"] as? [String: Any])?["plan"] as? String == "gold")
            let faces = try await client.json(.get, "/api/v1/members/\(obamaID)/faces", token: admin)
            let faceIDs = Set(((faces.body["faces"] as? [[String: Any]]) ?? []).compactMap { $0["face_id"] as? String })
            #expect(faceIDs == Set(details[0...1].map { String($0.dropFirst("face ".count)) }))

            // The same import again changes nothing.
            let second = try await Self.facegate(importArguments, url: url, in: root)
            #expect(
                Self.counts(try Self.summary(second)) == [
                    "members_created": 0, "members_updated": 0, "members_unchanged": 5, "faces_enrolled": 0,
                    "faces_skipped": 4, "refused": 3, "errors": 7,
                ], "\(second.standardOutput)")
            #expect(
                try Self.report(root + "/report.csv").lines.map { $0[2] }
                    == Self.expectedReport.map { $0[2] == "enrolled" ? "skipped" : $0[2] })

            // The running service heard of the new faces (NOTIFY): it checks Barack Obama in.
            var checkin: (status: HTTPResponse.Status, body: [String: Any]) = (.notFound, [:])
            for _ in 0..<100 where checkin.status != .created {
                checkin = try await CheckinFlowTests.post(
                    client, "/api/v1/checkins", token: admin, photo: "face_recognition/obama/obama2.jpg")
                if checkin.status != .created { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(
                checkin.status == .created && (checkin.body["member"] as? [String: Any])?["id"] as? String == obamaID,
                "\(checkin.body)")

            // export checkins: the check-in, as CSV and as JSON Lines; none before 2000.
            let exported = try await Self.facegate(["export", "checkins"], url: url, in: root)
            #expect(exported.status == 0, "\(exported.standardError)")
            let checkins = CSVTable(text: exported.standardOutput)
            #expect(checkins.header == ["checked_in_at", "member_id", "external_id", "name", "distance", "method"])
            #expect(checkins.rows.count == 1)
            #expect(
                checkins.rows.first?["member_id"] == obamaID && checkins.rows.first?["external_id"] == "44"
                    && checkins.rows.first?["name"] == "Barack Obama")
            // The same moment as the API said (both ISO 8601 to the second).
            let exportedAt = try #require(
                checkins.rows.first?["checked_in_at"].flatMap { try? Date($0, strategy: .iso8601) })
            let answeredAt = try #require(
                (checkin.body["checked_in_at"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
            #expect(abs(exportedAt.timeIntervalSince(answeredAt)) <= 1)
            #expect(checkins.rows.first?["distance"].flatMap { Double($0) }.map { $0 >= 0 && $0 < 1 } == true)
            let early = try await Self.facegate(["export", "checkins", "--until", "2000-01-01"], url: url, in: root)
            #expect(CSVTable(text: early.standardOutput).rows.isEmpty && early.status == 0)
            let jsonl = try await Self.facegate(
                ["export", "checkins", "--since", "2000-01-01", "--format", "jsonl"], url: url, in: root)
            let jsonLines = jsonl.standardOutput.split(separator: "\n")
            #expect(jsonLines.count == 1)
            let line = try #require(
                try JSONSerialization.jsonObject(with: Data((jsonLines.first ?? "").utf8)) as? [String: Any])
            #expect(
                line["member_id"] as? String == obamaID && line["external_id"] as? String == "44"
                    && line["name"] as? String == "Barack Obama" && (line["distance"] as? Double) != nil)

            // The API's check-in export: the same, for admins and operators.
            let (status, text, type) = try await client.execute(
                uri: "/api/v1/checkins/export", method: .get, headers: [.authorization: "Bearer \(admin)"]
            ) { response in (response.status, String(buffer: response.body), response.headers[.contentType]) }
            #expect(status == .ok && type == "text/csv; charset=utf-8")
            #expect(CSVTable(text: text).rows.map { $0["member_id"] } == [obamaID])
            #expect(
                try await client.json(.get, "/api/v1/checkins/export?from=yesterday", token: admin).status
                    == .badRequest)

            // export members → import members: nothing changes. A name a spreadsheet would run as a formula is
            // written so that it shows it instead, and imports back as it was.
            #expect(
                try await client.json(
                    .post, "/api/v1/members", token: admin,
                    body: ["name": "=1+2", "external_id": "Z-1"]
                ).status == .created)
            let members = try await Self.facegate(["export", "members"], url: url, in: root)
            #expect(members.standardOutput.contains("\nZ-1,'=1+2,,,{},active,\n"), "\(members.standardOutput)")
            #expect(members.status == 0, "\(members.standardError)")
            let memberTable = CSVTable(text: members.standardOutput)
            #expect(
                memberTable.header == ["external_id", "name", "email", "photos", "metadata", "status", "valid_until"])
            let exportedObama = try #require(memberTable.rows.first { $0["external_id"] == "44" })
            #expect(
                exportedObama["name"] == "Barack Obama" && exportedObama["email"] == "barack@example.org"
                    && exportedObama["photos"] == "" && exportedObama["valid_until"] == "2030-12-31")
            #expect(
                (try JSONSerialization.jsonObject(with: Data((exportedObama["metadata"] ?? "").utf8))
                    as? [String: String])
                    == ["plan": "gold"])
            try members.standardOutput.write(toFile: root + "/exported.csv", atomically: true, encoding: .utf8)
            let roundTrip = try await Self.facegate(
                ["import", "members", "--csv", root + "/exported.csv", "--photos", root + "/photos"], url: url, in: root
            )
            #expect(roundTrip.status == 0, "\(roundTrip.standardError)")
            #expect(
                Self.counts(try Self.summary(roundTrip)) == [
                    "members_created": 0, "members_updated": 0, "members_unchanged": 6, "faces_enrolled": 0,
                    "faces_skipped": 0, "refused": 0, "errors": 0,
                ], "\(roundTrip.standardOutput)")

            // A row that changes the membership (no PIN given) updates the member and keeps the PIN.
            try
                (CSVTable.line(["external_id", "name", "email", "photos", "status", "valid_until"])
                + CSVTable.line(["44", "Barack Obama", "barack@example.org", "", "paused", ""]))
                .write(toFile: root + "/paused.csv", atomically: true, encoding: .utf8)
            let paused = try await Self.facegate(
                ["import", "members", "--csv", root + "/paused.csv", "--photos", root + "/photos"], url: url, in: root)
            let pausedSummary = Self.counts(try Self.summary(paused))
            #expect(
                paused.status == 0 && pausedSummary["members_updated"] == 1,
                "\(paused.standardOutput) \(paused.standardError)")
            let pausedObama = try await client.json(.get, "/api/v1/members/\(obamaID)", token: admin).body
            #expect(
                pausedObama["status"] as? String == "paused" && pausedObama["valid_until"] == nil
                    && pausedObama["has_pin"] as? Bool == true, "\(pausedObama)")

            // The member's own data: their record, faces without templates, the check-in, the audit trail; audited.
            let (exportStatus, document) = try await client.execute(
                uri: "/api/v1/members/\(obamaID)/export", method: .get, headers: [.authorization: "Bearer \(admin)"]
            ) { response in (response.status, String(buffer: response.body)) }
            #expect(exportStatus == .ok)
            #expect(
                !document.contains("embedding") && !document.contains("template") && !document.contains("thumbnail"))
            let data = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
            #expect((data["member"] as? [String: Any])?["id"] as? String == obamaID)
            let exportedCheckins = try #require(data["checkins"] as? [[String: Any]])
            #expect(exportedCheckins.map { $0["checkin_id"] as? String } == [checkin.body["checkin_id"] as? String])
            let exportedFaces = try #require(data["faces"] as? [[String: Any]])
            #expect(Set(exportedFaces.compactMap { $0["face_id"] as? String }) == faceIDs)
            #expect(
                exportedFaces.allSatisfy {
                    ($0["photo_digest"] as? String)?.count == 64 && $0["model"] as? String == "sface"
                })
            let audit = try #require(data["audit_log"] as? [[String: Any]]).compactMap { $0["action"] as? String }
            #expect(
                audit == ["member_created", "face_enrolled", "face_enrolled", "member_updated", "member_exported"],
                "\(audit)")
            #expect(try await client.json(.get, "/api/v1/members/\(UUID())/export", token: admin).status == .notFound)
            _ = try await client.json(
                .post, "/api/v1/users", token: admin,
                body: [
                    "username": "desk", "password": "a long enough password", "role": "operator",
                ])
            let desk = try await client.accessToken(username: "desk", password: "a long enough password")
            #expect(try await client.json(.get, "/api/v1/members/\(obamaID)/export", token: desk).status == .forbidden)

            // facegate export member: the same document, audited again.
            let mine = try await Self.facegate(["export", "member", obamaID], url: url, in: root)
            #expect(mine.status == 0, "\(mine.standardError)")
            let own = try #require(
                try JSONSerialization.jsonObject(with: Data(mine.standardOutput.utf8)) as? [String: Any])
            #expect((own["member"] as? [String: Any])?["id"] as? String == obamaID)
            #expect((own["checkins"] as? [[String: Any]])?.count == 1)
            #expect(
                ((own["audit_log"] as? [[String: Any]]) ?? []).filter { $0["action"] as? String == "member_exported" }
                    .count == 2)
        }
    }
}
