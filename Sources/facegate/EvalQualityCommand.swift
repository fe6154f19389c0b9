import ArgumentParser
import FaceEngine
import Foundation
import UseCases

/// How the enrolment quality gates judge a set of photos: `facegate eval quality --manifest CSV --root DIR`.
/// Used to choose the `ENROL_*` defaults and by operators to check theirs on their own photos.
struct EvalQualityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: """
            Runs the enrolment gates over the photos of a CSV (column file); the last stdout line is a JSON summary \
            of the measures (percentiles) and of the rejections by code.
            """)

    @Option(help: "CSV with a column file (other columns ignored).") var manifest: String
    @Option(help: "Only rows whose column 'source' is one of these (repeatable).") var source: [String] = []
    @Flag(help: "Leave out rows whose 'derived' column is 'yes'.") var excludeDerived = false
    @Flag(
        help:
            "List every photo on stderr: file, faces, face size, sharpness, yaw, roll, turn, detection scores, verdict (tab-separated)."
    )
    var list = false
    @OptionGroup var options: EvalOptions

    func run() async throws {
        let started = ContinuousClock.now
        let setup = try options.engineConfiguration()
        let files = try readCSV(manifest).compactMap { row -> String? in
            guard let file = row["file"], source.isEmpty || source.contains(row["source"] ?? ""),
                !(excludeDerived && row["derived"] == "yes")
            else { return nil }
            return file
        }
        let encoded = try await encodeFiles(files, root: options.root, pool: try setup.makeBatchPool())

        var rejections: [String: Int] = [:]
        var unreadable = 0
        var measured: [FaceQuality] = []
        for file in files {
            guard let faces = encoded[file] ?? nil else {
                unreadable += 1
                continue
            }
            if let largest = faces.first { measured.append(largest.quality) }
            var verdict = "accepted"
            do {
                _ = try setup.enrolmentGate.check(faces)
            } catch {
                verdict = CodedError(describing: error).code.name
                rejections[verdict, default: 0] += 1
            }
            if list {
                var columns: [String] = [file, String(faces.count)]
                if let face = faces.first {
                    let q = face.quality
                    columns += [String(q.faceSize)] + [q.sharpness, q.yaw, q.roll].map { String(format: "%.1f", $0) }
                    columns.append("\(face.turn)")
                    columns.append(faces.map { String(format: "%.2f", $0.face.score) }.joined(separator: ","))
                } else {
                    columns += ["-", "-", "-", "-", "-", "-"]
                }
                columns.append(verdict)
                FileHandle.standardError.write(Data((columns.joined(separator: "\t") + "\n").utf8))
            }
        }
        func percentiles(_ values: [Double]) -> [String: Double] {
            guard !values.isEmpty else { return [:] }
            return ["p01": 0.01, "p05": 0.05, "p50": 0.5, "p95": 0.95, "p99": 0.99]
                .mapValues { rounded(percentile(values, $0), 1) }
        }
        let rejected = rejections.values.reduce(0, +)
        try printJSON([
            "photos": files.count,
            "unreadable": unreadable,
            "accepted": files.count - unreadable - rejected,
            "rejected": rejections,
            "face_size": percentiles(measured.map { Double($0.faceSize) }),
            "sharpness": percentiles(measured.map(\.sharpness)),
            "abs_yaw": percentiles(measured.map { abs($0.yaw) }),
            "abs_roll": percentiles(measured.map { abs($0.roll) }),
            "gate": [
                "min_face_pixels": setup.enrolmentGate.minFaceSize, "min_sharpness": setup.enrolmentGate.minSharpness,
                "max_yaw_degrees": setup.enrolmentGate.maxYaw, "max_roll_degrees": setup.enrolmentGate.maxRoll,
                "allow_multiple_faces": setup.enrolmentGate.allowMultipleFaces,
            ] as [String: Any],
            "seconds": rounded((ContinuousClock.now - started) / .seconds(1), 2),
        ])
    }
}
