import ArgumentParser
import FaceEngine
import FaceGateRuntime
import Foundation
import ImageDecoding

/// `facegate bench pipeline --root DIR --list FILE`: the whole pipeline (decode → detect → align → embed every
/// face) over a list of photos on an engine pool, with the time of each stage per photo and the faces found, so
/// that another library can be compared photo by photo on the same files (benchmarks/throughput.py does).
struct BenchPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Photos/s and per-stage ms over a list of photos, with every face's box; last stdout line is JSON.")

    @Option(help: "Folder the list's paths are relative to.") var root: String
    @Option(help: "A text file with one photo path (relative to --root) per line.") var list: String
    @Option(help: "Face engines working at once (pin the process with taskset to as many cores).") var workers = 1
    @Option(help: "Timed passes over the list (photos/s is the median; stage times are per-photo medians).")
    var rounds = 2
    @Option(help: "Face model: sface or dlib (default: FACE_MODEL or sface).") var model: FaceModelKind?
    @Option(help: "Faces embedded per photo: 'all' (as face_recognition does) or a number (a check-in embeds 1).")
    var faces = "all"

    /// One photo's stage times in one pass, measured on the engine's thread.
    struct Timing: Sendable {
        var decode: Double, detect: Double, align: Double, embed: Double
        var total: Double { decode + detect + align + embed }
    }

    /// What one photo gave: its decoded size, how the detector turned it, and the boxes of the embedded faces
    /// (largest first, in the turned photo).
    struct Found: Sendable {
        var width: Int, height: Int, turn: Int, boxes: [[Int]]
    }

    func run() async throws {
        let limit: Int
        if faces == "all" {
            limit = .max
        } else if let n = Int(faces), n > 0 {
            limit = n
        } else {
            throw ValidationError("--faces takes 'all' or a positive number")
        }
        guard workers > 0, rounds > 0 else { throw ValidationError("--workers and --rounds must be positive") }
        var environment = try EnvironmentFile.layeredEnvironment()
        if let model { environment["FACE_MODEL"] = model.rawValue }
        let configuration = try EngineConfiguration(environment: environment)
        try configuration.verifyModels()
        let paths = try readList(list)
        let photos = try paths.map { try readFile(root + "/" + $0) }
        let pool = try configuration.makeBatchPool(workers: workers)
        let decoder = ImageDecoder()

        // A warm-up pass (page cache, allocator, BLAS buffers) whose results give the faces found.
        let found = try await concurrentMap(photos, width: workers * 2) { bytes in
            try await pool.run { engine in try Self.process(bytes, engine: engine, decoder: decoder, limit: limit).found
            }
        }
        var rates: [Double] = []
        var timings = [[Timing]](repeating: [], count: photos.count)
        for _ in 0..<rounds {
            let started = ContinuousClock.now
            let pass = try await concurrentMap(photos, width: workers * 2) { bytes in
                try await pool.run { engine in
                    try Self.process(bytes, engine: engine, decoder: decoder, limit: limit).timing
                }
            }
            rates.append(Double(photos.count) / ((ContinuousClock.now - started) / .seconds(1)))
            for (i, timing) in pass.enumerated() { timings[i].append(timing) }
        }

        let stage = { (key: KeyPath<Timing, Double>, i: Int) in
            milliseconds(median(timings[i].map { $0[keyPath: key] }))
        }
        let perPhoto: [[String: Any]] = paths.indices.map { i in
            [
                "file": paths[i], "width": found[i].width, "height": found[i].height, "turn": found[i].turn,
                "boxes": found[i].boxes, "decode_ms": stage(\.decode, i), "detect_ms": stage(\.detect, i),
                "align_ms": stage(\.align, i), "embed_ms": stage(\.embed, i), "total_ms": stage(\.total, i),
            ]
        }
        let all = timings.flatMap { $0 }
        let stageMedians: [String: Any] = [
            "decode_ms": milliseconds(median(all.map(\.decode))), "detect_ms": milliseconds(median(all.map(\.detect))),
            "align_ms": milliseconds(median(all.map(\.align))), "embed_ms": milliseconds(median(all.map(\.embed))),
            "total_ms": milliseconds(median(all.map(\.total))),
        ]
        let rate = median(rates)
        print(
            String(
                format: "%d photos, %d worker(s): %.2f photos/s (median of %d passes), median photo %.1f ms",
                photos.count, workers, rate, rounds, median(all.map(\.total)) * 1000))
        try printJSON([
            "tool": "facegate", "workers": workers, "photos": photos.count, "faces_embedded": faces,
            "photos_per_s": rounded(rate, 3), "rounds_photos_per_s": rates.map { rounded($0, 3) },
            "stage_median_ms": stageMedians, "per_photo": perPhoto,
            "faces_found": found.reduce(0) { $0 + $1.boxes.count },
            "model": pool.descriptor.name, "model_version": pool.descriptor.version,
            "settings": [
                "detector": configuration.settings.detector.rawValue,
                "detect_max_side": configuration.settings.detectSide(for: configuration.model),
                "upsample": configuration.settings.upsample,
                "flip": configuration.settings.flipAugmentation, "cnn_fallback": configuration.settings.cnnFallback,
                "rotation_fallback": configuration.settings.rotationFallback,
                "openblas_threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset",
            ] as [String: Any],
        ])
    }

    /// Decoding, then the service's own `FaceRecognizer.faceEncodings(in:limit:)` with the time of each step.
    static func process(
        _ bytes: [UInt8], engine: any FaceRecognizer, decoder: ImageDecoder, limit: Int
    ) throws -> (timing: Timing, found: Found) {
        let started = ContinuousClock.now
        let photo = try decoder.decode(bytes)
        let decode = ContinuousClock.now - started
        var times = EncodingTimes()
        let encodings = try engine.faceEncodings(in: photo, limit: limit, times: &times)
        let seconds = { (d: Duration) in d / .seconds(1) }
        return (
            Timing(
                decode: seconds(decode), detect: seconds(times.detect), align: seconds(times.align),
                embed: seconds(times.embed)),
            Found(
                width: photo.width, height: photo.height, turn: Int((encodings.first?.turn ?? .up).rawValue),
                boxes: encodings.map { [$0.face.box.x, $0.face.box.y, $0.face.box.width, $0.face.box.height] })
        )
    }
}
