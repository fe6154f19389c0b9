import ArgumentParser
import FaceEngine
import Foundation
import ImageDecoding
import Liveness
import UseCases

/// `facegate bench liveness`: the server work of a challenge check-in beside that of a single-photo check-in, in one
/// process on one engine, alternating in rounds, so that the two are measured under the same machine load.
///
/// The frames are a real head turn: every frame of `--window` seconds of a clip from `--start`, scaled to `--width` px
/// and written as JPEG (ffmpeg `-q:v 3`), of which `--frames` are kept as the kiosk page keeps them (`ChallengeCapture`:
/// a frame every 1/15 s, those where the picture moved).
/// `--save-frames DIR` writes the first count's frames there (`00.jpg`…): the frames the HTTP benchmark posts.
/// Measured, as the service does them:
/// - a single photo: decode one JPEG (the first frame, frontal) and embed its largest face
///   (`FaceRecognizer.faceEncodings(in:limit: 1)`, what `FacePipeline.analyse` runs for a check-in);
/// - a challenge: decode every frame and judge them (`FaceRecognizer.challengeFrames(in:asked:check:)`: a detection per
///   frame, the liveness geometry, two embeddings), asked the way the clip turns (the direction the check admits is
///   found first and reported).
/// The figure the issue's target reads is the ratio of the first frame count's median to the single photo's.
struct BenchLivenessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liveness",
        abstract: "A challenge check-in's server time beside a single photo's, one engine; last stdout line is JSON.")

    @Option(
        help: """
            A clip of a head turn (default: liveportrait_d3.mp4 under FACEGATE_TEST_DATA's video/, else \
            ../shared/faces/video/liveportrait_d3.mp4).
            """)
    var video: String?
    @Option(help: "Second of the clip where the frames start (liveportrait_d3 turns to the image's right from ~7.7 s).")
    var start = 7.7
    @Option(help: "Seconds the frames span (the kiosk captures about 1.5 s).") var window = 1.5
    @Option(help: "Frames per challenge, comma-separated; the first is the target's (the kiosk sends 8).")
    var frames = "6,8"
    @Option(help: "Width the frames are scaled to, px (a kiosk's camera frame).") var width = 640
    @Option(help: "Write the first count's frames (JPEG, 00.jpg…, in capture order) into this folder.")
    var saveFrames: String?
    @Flag(help: "Only choose the frames (and write them with --save-frames): no engine, no timing.")
    var noTiming = false
    @Option(help: "Alternating rounds (the single photo, then each challenge); medians of the rounds are reported.")
    var rounds = 3
    @Option(help: "Run each measurement of a round for at least this many seconds.") var seconds = 1.0
    @Option(help: "Runs of each measurement of a round at least (after one warm-up run).") var runs = 5
    @Option(help: "Face model (default: FACE_MODEL or sface; the check needs SFace's landmarks).") var model:
        FaceModelKind?

    /// The frames of one challenge, JPEG, in capture order.
    struct FrameSet: Sendable {
        var count: Int
        var photos: [[UInt8]]
    }

    /// One round's medians, seconds: the single photo, then each frame set in order.
    struct Round: Sendable {
        var single: Double
        var challenges: [Double]
    }

    /// What the check made of a frame set.
    struct Judged: Sendable {
        var refusal: LivenessRefusal?
        var turn: Double?
        var yaw: [Double]
        var embedded: Bool
    }

    /// The shared clip: `FACEGATE_TEST_DATA`'s video/ when set, else beside the repository (run from its root).
    static var defaultVideo: String {
        let faces = ProcessInfo.processInfo.environment["FACEGATE_TEST_DATA"] ?? "../shared/faces"
        return faces + "/video/liveportrait_d3.mp4"
    }

    func run() async throws {
        var counts: [Int] = []
        for raw in frames.split(separator: ",") {
            guard let n = Int(raw.trimmingCharacters(in: .whitespaces)), CheckIn.challengeFrameCounts.contains(n) else {
                throw ValidationError(
                    "--frames takes frame counts the service takes (2 to 8), comma-separated, e.g. 6,8")
            }
            if !counts.contains(n) { counts.append(n) }
        }
        guard !counts.isEmpty else { throw ValidationError("--frames names no frame count") }
        guard rounds > 0, runs > 0, seconds >= 0, window > 0, start >= 0, width >= 64 else {
            throw ValidationError(
                "--rounds and --runs must be positive, --seconds and --start not negative, --window positive, --width at least 64"
            )
        }
        let clip = video ?? Self.defaultVideo
        guard FileManager.default.fileExists(atPath: clip) else {
            throw ValidationError("no clip at \(clip): pass --video, or set FACEGATE_TEST_DATA to the shared faces")
        }

        // The frames, as a kiosk would send them, through a scratch folder (the JPEG files are what is posted).
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("facegate-bench-liveness-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let decoder = ImageDecoder()
        let captured = try capture(clip, into: scratch)
        guard captured.count >= counts.max() ?? 0 else {
            throw ValidationError(
                "\(clip) gives \(captured.count) frames from \(start) s over \(window) s, fewer than \(counts.max() ?? 0)"
            )
        }
        // As the kiosk chooses them: a frame every `ChallengeCapture.interval`, then where the picture moved.
        let secondsPerFrame = window / Double(captured.count)
        let taken = Array(
            Set(
                (0...Int(window / ChallengeCapture.interval)).map {
                    min(captured.count - 1, Int((Double($0) * ChallengeCapture.interval / secondsPerFrame).rounded()))
                })
        ).sorted()
        let samples = try taken.map { try ChallengeCapture.motionSample(of: decoder.decode(captured[$0])) }
        let chosen = counts.map { count in ChallengeCapture.choose(samples: samples, count: count).map { taken[$0] } }
        let sets = zip(counts, chosen).map { count, indices in
            FrameSet(count: count, photos: indices.map { captured[$0] })
        }
        // Where each kept frame is, roughly.
        for (count, indices) in zip(counts, chosen) {
            let times = indices.map { String(format: "%.2f", start + Double($0) * secondsPerFrame) }
            FileHandle.standardError.write(
                Data(
                    "\(count) frames of \(captured.count), at about \(times.joined(separator: ", ")) s\n".utf8))
        }
        if let saveFrames {
            try FileManager.default.createDirectory(atPath: saveFrames, withIntermediateDirectories: true)
            for (i, photo) in sets[0].photos.enumerated() {
                try Data(photo).write(to: URL(fileURLWithPath: saveFrames + "/" + String(format: "%02d.jpg", i)))
            }
        }
        if noTiming {
            try printJSON([
                "video": (clip as NSString).lastPathComponent, "start_s": start, "window_s": window,
                "window_frames": captured.count,
                "frame_indices": Dictionary(uniqueKeysWithValues: zip(counts.map { String($0) }, chosen)),
                "saved_to": saveFrames ?? "",
            ])
            return
        }

        let engine = try LivenessEngine(model: model)
        let (configuration, settings, pool) = (engine.configuration, engine.settings, engine.pool)
        let check = LivenessCheck(settings: settings)
        let single = sets[0].photos[0]

        // The way the clip turns: the direction the check admits on the first frame set (left when neither does).
        let headline = sets[0]
        let byDirection = try await pool.run { engine -> [LivenessRefusal?] in
            let images = try headline.photos.map { try decoder.decode($0) }
            return try TurnDirection.allCases.map { asked -> LivenessRefusal? in
                try engine.challengeFrames(in: images, asked: asked, check: check).refusal
            }
        }
        let admitted = zip(TurnDirection.allCases, byDirection).first { $0.1 == nil }?.0
        let asked = admitted ?? .left
        let judged = try await pool.run { engine -> [Judged] in
            try sets.map { set -> Judged in
                let seen = try engine.challengeFrames(
                    in: set.photos.map { try decoder.decode($0) }, asked: asked, check: check)
                return Judged(
                    refusal: seen.refusal, turn: seen.measures?.turn, yaw: seen.measures?.yaw ?? [],
                    embedded: seen.frontal != nil)
            }
        }
        let verdict = { (refusal: LivenessRefusal?) -> String in refusal?.rawValue ?? "accepted" }
        let verdicts: [String: String] = Dictionary(
            uniqueKeysWithValues: zip(TurnDirection.allCases, byDirection).map { ($0.0.rawValue, verdict($0.1)) })
        if admitted == nil {
            let said = verdicts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            FileHandle.standardError.write(
                Data(
                    "warning: the check admits the \(headline.count) frames neither way (\(said)); timed asking left\n"
                        .utf8))
        }
        for (set, outcome) in zip(sets, judged) where !outcome.embedded {
            FileHandle.standardError.write(
                Data(
                    "warning: \(set.count) frames: a frame shows no face, so nothing is embedded and the time is too low\n"
                        .utf8))
        }

        // Alternating rounds, each one job on the engine's thread: the single photo, then each challenge.
        let stopwatch = Stopwatch(warmUp: 1, minRuns: runs, minSeconds: seconds)
        var measured: [Round] = []
        for round in 1...rounds {
            let result = try await pool.run { engine -> Round in
                let one = try stopwatch.median { _ = try engine.faceEncodings(in: decoder.decode(single), limit: 1) }
                let challenges = try sets.map { set in
                    try stopwatch.median {
                        _ = try engine.challengeFrames(
                            in: set.photos.map { try decoder.decode($0) }, asked: asked, check: check)
                    }
                }
                return Round(single: one, challenges: challenges)
            }
            let times = zip(sets, result.challenges).map {
                String(format: "%d frames %.1f ms", $0.0.count, $0.1 * 1000)
            }
            FileHandle.standardError.write(
                Data(
                    ("round \(round) of \(rounds): "
                        + String(format: "single %.1f ms, ", result.single * 1000) + times.joined(separator: ", ")
                        + "\n").utf8))
            measured.append(result)
        }
        // Decoding alone, for the share of it in each.
        let decoding = try await pool.run { _ -> Round in
            let one = try stopwatch.median { _ = try decoder.decode(single) }
            let challenges = try sets.map { set in
                try stopwatch.median { for photo in set.photos { _ = try decoder.decode(photo) } }
            }
            return Round(single: one, challenges: challenges)
        }

        let singleMedian = median(measured.map(\.single))
        let challengeMedians: [Double] = sets.indices.map { i in median(measured.map { $0.challenges[i] }) }
        let ratios: [Double] = challengeMedians.map { singleMedian > 0 ? $0 / singleMedian : 0 }
        let header = Self.headerSize(single)
        let size = header.map { "\($0.width)×\($0.height)" } ?? "?"
        print(
            "\(size) px frames of \((clip as NSString).lastPathComponent) from "
                + String(format: "%.2f s over %.2f s", start, window)
                + ", asked \(asked.rawValue), one engine, median of \(rounds) round(s):")
        print(
            "  single photo (decode + largest face embedded): "
                + String(format: "%.1f ms (decode %.1f ms)", singleMedian * 1000, decoding.single * 1000))
        for i in sets.indices {
            print(
                "  challenge, \(sets[i].count) frames (\(verdict(judged[i].refusal))): "
                    + String(
                        format: "%.1f ms, %.2f× single (decode %.1f ms)", challengeMedians[i] * 1000, ratios[i],
                        decoding.challenges[i] * 1000))
        }

        var challengeMS: [String: Double] = [:], decodeMS: [String: Double] = [:], ratioBySet: [String: Double] = [:]
        var refusals: [String: String] = [:], turns: [String: Double] = [:], yaws: [String: [Double]] = [:]
        var roundsMS: [String: [Double]] = ["single": measured.map { milliseconds($0.single) }]
        var indicesBySet: [String: [Int]] = [:]
        for i in sets.indices {
            let key = String(sets[i].count)
            challengeMS[key] = milliseconds(challengeMedians[i])
            decodeMS[key] = milliseconds(decoding.challenges[i])
            ratioBySet[key] = rounded(ratios[i], 3)
            refusals[key] = verdict(judged[i].refusal)
            turns[key] = rounded(judged[i].turn ?? 0, 1)
            yaws[key] = judged[i].yaw.map { rounded($0, 1) }
            roundsMS[key] = measured.map { milliseconds($0.challenges[i]) }
            indicesBySet[key] = chosen[i]
        }
        let engineSettings: [String: Any] = [
            "detect_max_side": configuration.settings.detectSide(for: configuration.model),
            "flip": configuration.settings.flipAugmentation, "min_turn_degrees": settings.minTurnDegrees,
            "openblas_threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset",
        ]
        let report: [String: Any] = [
            "tool": "facegate", "video": (clip as NSString).lastPathComponent, "start_s": start, "window_s": window,
            "window_frames": captured.count, "frame_indices": indicesBySet,
            "width": header?.width ?? width, "height": header?.height ?? 0, "rounds": rounds, "asked": asked.rawValue,
            "admitted_by_direction": verdicts, "single_ms": milliseconds(singleMedian),
            "single_decode_ms": milliseconds(decoding.single), "challenge_ms": challengeMS,
            "challenge_decode_ms": decodeMS, "ratio_to_single": ratioBySet, "target_frames": sets[0].count,
            "target_ratio": 3, "refusals": refusals, "turn_degrees": turns, "yaw_degrees": yaws, "rounds_ms": roundsMS,
            "model": pool.descriptor.name, "model_version": pool.descriptor.version, "settings": engineSettings,
        ]
        try printJSON(report)
    }

    /// Every frame of `clip` from `start` for `window` seconds, `width` px wide, as JPEG files in `folder` (one ffmpeg
    /// run); their bytes in capture order.
    func capture(_ clip: String, into folder: String) throws -> [[UInt8]] {
        _ = try EvalLivenessCommand.output(of: [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-ss", String(format: "%.3f", start), "-i", clip,
            "-t", String(format: "%.3f", window), "-vf", "scale=\(width):-2", "-q:v", "3", folder + "/%04d.jpg",
        ])
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jpg") }.sorted()
        return try names.map { try readFile(folder + "/" + $0) }
    }

    /// The size of a JPEG, from its header.
    static func headerSize(_ photo: [UInt8]) -> (width: Int, height: Int)? {
        guard let header = try? ImageDecoder().readHeader(photo) else { return nil }
        return (header.width, header.height)
    }
}
