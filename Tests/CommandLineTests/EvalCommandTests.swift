import CSV
import Foundation
import TestSupport
import Testing

/// `facegate eval` on small subsets of the shared photos, so the suite stays fast; the full runs are in README.
@Suite("facegate eval", .requiresFacesAndModels)
struct EvalCommandTests {
    /// Runs `facegate eval …` from the repository root and decodes its last stdout line.
    func eval(_ arguments: [String]) async throws -> [String: Any] {
        var environment = ProcessInfo.processInfo.environment
        environment["MODELS_DIR"] = TestEnvironment.modelsDirectory
        environment["OPENBLAS_NUM_THREADS"] = "1"
        let result = try await ChildProcess(
            TestEnvironment.facegateBinary, arguments: ["eval"] + arguments, environment: environment,
            currentDirectory: TestEnvironment.repositoryRoot
        ).run()
        try #require(result.status == 0, "facegate eval failed: \(result.standardError)")
        let lastLine = try #require(result.standardOutput.split(separator: "\n").last)
        return try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
    }

    /// The first `count` same-person and the first `count` different-person pairs of LFW fold 1.
    func lfwSubset(_ count: Int) throws -> String {
        let rows = try CSVTable(path: TestEnvironment.facesRoot + "/lfw/pairs_fold1.csv").rows
        let same = rows.filter { $0["same_person"] == "1" }.prefix(count)
        let different = rows.filter { $0["same_person"] == "0" }.prefix(count)
        let lines = (same + different).map { "\($0["file_a"]!),\($0["file_b"]!),\($0["same_person"]!)" }
        let path = NSTemporaryDirectory() + "facegate-pairs-\(UUID().uuidString).csv"
        try (["file_a,file_b,same_person"] + lines).joined(separator: "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("eval pairs reports accuracy at the default tolerance on 40 LFW pairs, with every required field")
    func pairs() async throws {
        let csv = try lfwSubset(20)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let summary = try await eval(["pairs", "--pairs", csv, "--root", TestEnvironment.facesRoot + "/lfw"])
        for key in ["pairs", "accuracy", "best_threshold_accuracy", "tar_at_far_0_1pct", "failed_to_detect", "seconds"]
        {
            #expect(summary[key] != nil, "missing \(key)")
        }
        #expect(summary["pairs"] as? Int == 40)
        #expect((summary["accuracy"] as? Double ?? 0) >= 0.95, "\(summary)")
        #expect(summary["model"] as? String == "sface")
        // The service's 1:1 tolerance, derived from the default FPIR target; --tolerance fixes it instead.
        #expect((summary["tolerance"] as? Double).map { (0.3...0.9).contains($0) } == true, "\(summary)")
        let fixed = try await eval([
            "pairs", "--pairs", csv, "--root", TestEnvironment.facesRoot + "/lfw", "--tolerance", "0.25",
        ])
        #expect((fixed["tolerance"] as? Double).map { abs($0 - 0.25) < 1e-6 } == true)
        #expect((fixed["accuracy"] as? Double ?? 1) < (summary["accuracy"] as? Double ?? 0))
    }

    @Test("eval identify finds enrolled people and refuses most unknown ones on the face_recognition samples")
    func identify() async throws {
        let summary = try await eval([
            "identify", "--manifest", TestEnvironment.facesRoot + "/face_recognition/manifest.csv",
            "--root", TestEnvironment.facesRoot + "/face_recognition",
        ])
        for key in ["fnir", "fpir", "enrolled", "known_probes", "unknown_probes"] {
            #expect(summary[key] != nil, "missing \(key)")
        }
        #expect((summary["enrolled"] as? Int ?? 0) >= 2, "\(summary)")
        #expect((summary["fnir"] as? Double ?? 1) <= 0.2, "\(summary)")
        // The service's rule: the tolerance derived for this gallery's size from the default target.
        #expect(summary["target_fpir"] as? Double == 0.01)
        #expect(summary["gallery_faces"] as? Int == summary["enrolled"] as? Int)
        #expect((summary["sweep"] as? [[String: Any]])?.count == 7)
    }

    @Test("eval identify can enrol several photos per identity and probes the same photos either way")
    func identifyWithSeveralEnrolmentPhotos() async throws {
        func run(_ enrolPhotos: Int) async throws -> [String: Any] {
            try await eval([
                "identify", "--manifest", TestEnvironment.facesRoot + "/face_recognition/manifest.csv",
                "--root", TestEnvironment.facesRoot + "/face_recognition", "--min-photos", "3",
                "--enrol-photos", String(enrolPhotos),
            ])
        }
        let one = try await run(1), two = try await run(2)
        #expect(two["enrol_photos"] as? Int == 2)
        #expect(one["known_probes"] as? Int == two["known_probes"] as? Int)
        #expect((two["known_probes"] as? Int ?? 0) > 0)
        #expect((two["fnir"] as? Double ?? 1) <= (one["fnir"] as? Double ?? 0), "\(one) vs \(two)")
    }
}
