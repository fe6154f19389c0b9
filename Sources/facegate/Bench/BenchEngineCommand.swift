import ArgumentParser
import FaceEngine
import FaceGateRuntime
import Foundation
import ImageDecoding

/// `facegate bench engine --root DIR`: per-stage times of each face model (SFace: YuNet detection, alignment,
/// embedding; dlib: HOG detection, landmarks, chip, embedding, CNN) and end-to-end photos/s of each on 1 and 2
/// engines, alternating, from the configured engine settings.
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Per-stage face engine times and end-to-end photos/s on 1..N workers; last stdout line is JSON.")

    @Option(help: "The shared face photos (shared/faces).") var root: String
    @Option(help: "Run each stage measurement for at least this many seconds.") var seconds = 1.0
    @Option(help: "Worker counts for the end-to-end run.") var workers: [Int] = [1, 2]
    @Option(help: "Rounds of the end-to-end run per worker count (alternating; medians are reported).") var rounds = 2
    @Flag(help: "Leave out the CNN detector timing (several seconds per run).") var skipCnn = false
    @Option(help: "Face models to measure: sface, dlib.") var model: [FaceModelKind] = [.sface, .dlib]

    static let stagePhotos = ["480p", "720p", "1080p"].map { "face_recognition/obama/obama-\($0).jpg" }
    /// Real photos of one or more people at their own sizes (250 px to 4.6 MP) for the end-to-end run.
    static let endToEndFolders = ["face_recognition", "deepface/images", "compreface/identities", "dlib"]

    func run() async throws {
        let configuration = try EngineConfiguration(environment: EnvironmentFile.layeredEnvironment())
        let models = FaceModels(directory: configuration.modelsDirectory)
        var report: [String: Any] = [:]
        if model.contains(.sface) {
            report["sface"] = try sfaceStages(models: models, settings: configuration.settings)
        }
        if model.contains(.dlib) {
            for (key, value) in try dlibStages(models: models, settings: configuration.settings) { report[key] = value }
        }

        let photos = try endToEndPhotos()
        var perRun: [String: [Double]] = [:]
        for _ in 0..<rounds {
            for kind in model {
                for count in workers {
                    let rate = try await photosPerSecond(
                        photos, model: kind, workers: count, models: models, settings: configuration.settings)
                    perRun["\(kind.rawValue) \(count)", default: []].append(rate)
                }
            }
        }
        var throughput: [[String: Any]] = []
        for kind in model {
            for count in workers {
                let rates = perRun["\(kind.rawValue) \(count)"] ?? []
                print(
                    String(
                        format: "end to end, %@, %d worker(s): %.1f photos/s over %d photos (median of %d rounds)",
                        kind.rawValue, count, median(rates), photos.count, rounds))
                throughput.append([
                    "model": kind.rawValue, "workers": count, "photos_per_s": rounded(median(rates), 2),
                    "rounds": rates,
                ])
            }
        }
        report["end_to_end"] = throughput
        report["photos"] = photos.count
        report["settings"] =
            [
                "detector": configuration.settings.detector.rawValue,
                "detect_max_side": Dictionary(
                    uniqueKeysWithValues: model.map { ($0.rawValue, configuration.settings.detectSide(for: $0)) }),
                "upsample": configuration.settings.upsample, "flip": configuration.settings.flipAugmentation,
                "cnn_fallback": configuration.settings.cnnFallback,
                "openblas_threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset",
            ] as [String: Any]
        try printJSON(report)
    }

    /// SFace through the seam: YuNet at the model's side and at native size, alignment to the 112 px template.
    private func sfaceStages(models: FaceModels, settings: FaceEngineSettings) throws -> [String: Any] {
        try models.verify(SFaceRecognizer.descriptor(flip: true).files)
        let side = settings.detectSide(for: .sface)
        return try stages(
            of: "sface", side: side, plain: SFaceRecognizer(models: models, detectMaxSide: side, flip: false),
            native: SFaceRecognizer(models: models, detectMaxSide: 8192, flip: false),
            configured: SFaceRecognizer(models: models, detectMaxSide: side, flip: settings.flipAugmentation),
            flipped: SFaceRecognizer(models: models, detectMaxSide: side, flip: true))
    }

    /// dlib through the seam (top-level `stages` and `embedding` of the JSON, as before SFace was measured too), plus
    /// its HOG boxes without landmarks, the landmarks alone, and the CNN detector.
    private func dlibStages(models: FaceModels, settings configured: FaceEngineSettings) throws -> [String: Any] {
        var withCNN = configured
        withCNN.cnnFallback = true
        try models.verify(DlibRecognizer.descriptor(settings: withCNN).files)
        var plain = configured
        plain.cnnFallback = false
        plain.flipAugmentation = false
        let hog = try DlibRecognizer(models: models, settings: plain)
        var native = plain
        native.detectMaxSide = 8192
        var flipped = plain
        flipped.flipAugmentation = true
        let stopwatch = Stopwatch(minRuns: 5, minSeconds: seconds)
        var report = try stages(
            of: "dlib", side: plain.detectSide(for: .dlib), plain: hog,
            native: DlibRecognizer(models: models, settings: native),
            configured: DlibRecognizer(models: models, settings: configured),
            flipped: DlibRecognizer(models: models, settings: flipped)
        ) { image, face in
            let boxes = try stopwatch.median { _ = try hog.faceBoxes(in: image) }
            let landmarks = try stopwatch.median { _ = try hog.faceLandmarks(in: image, box: face.box) }
            return ["hog_boxes_ms": boxes, "landmarks_ms": landmarks]
        }
        if !skipCnn {
            var cnnSettings = plain
            cnnSettings.detector = .cnn
            let cnnEngine = try DlibRecognizer(models: models, settings: cnnSettings)
            let image = try ImageDecoder().decode(readFile(root + "/" + Self.stagePhotos[0]))
            let cnn = try Stopwatch(warmUp: 1, minRuns: 3, minSeconds: 0).median {
                _ = try cnnEngine.faceBoxes(in: image)
            }
            print(String(format: "dlib CNN detect at %d px: %.0f ms", cnnSettings.detectSide(for: .dlib), cnn * 1000))
            var embedding = report["embedding"] as? [String: Any] ?? [:]
            embedding["cnn_detect_ms"] = milliseconds(cnn)
            report["embedding"] = embedding
        }
        return report
    }

    /// One model's stages on the stage photos, medians: decoding, finding the faces with their landmarks at the
    /// model's detection side (`plain`) and at native size, the aligned chip, the whole photo (`configured`), and any
    /// `extra` stages the model has; then embedding one face, with flip augmentation (`flipped`), and per face in a
    /// batch of 8.
    private func stages(
        of model: String, side: Int, plain: any FaceRecognizer, native: any FaceRecognizer,
        configured: any FaceRecognizer, flipped: any FaceRecognizer,
        extra: (RGBImage, DetectedFace) throws -> [String: Double] = { _, _ in [:] }
    ) throws -> [String: Any] {
        let stopwatch = Stopwatch(minRuns: 5, minSeconds: seconds)
        let decoder = ImageDecoder()
        var stages: [[String: Any]] = []
        var chips: [RGBImage] = []
        for path in Self.stagePhotos {
            let bytes = try readFile(root + "/" + path)
            let image = try decoder.decode(bytes)
            let decode = stopwatch.median { _ = try? decoder.decode(bytes) }
            let detect = try stopwatch.median { _ = try plain.faceLocations(in: image) }
            let detectNative = try stopwatch.median { _ = try native.faceLocations(in: image) }
            guard let face = try plain.faceLocations(in: image).faces.first else {
                throw ValidationError("no face found in \(path)")
            }
            let align = try stopwatch.median { _ = try plain.faceChip(for: face, in: image) }
            chips.append(try plain.faceChip(for: face, in: image))
            let endToEnd = try stopwatch.median { _ = try configured.faceEncodings(in: decoder.decode(bytes)) }
            let more = try extra(image, face)
            print(
                String(
                    format: "%@ %@ %dx%d: decode %.1f ms, detect at %d px %.1f ms (native %.1f ms), "
                        + "alignment %.2f ms, whole photo %.1f ms", model, path, image.width, image.height,
                    decode * 1000, side, detect * 1000, detectNative * 1000, align * 1000, endToEnd * 1000)
                    + more.sorted { $0.key < $1.key }.map { String(format: ", %@ %.2f ms", $0.key, $0.value * 1000) }
                    .joined())
            var stage: [String: Any] = [
                "photo": path, "width": image.width, "height": image.height, "decode_ms": milliseconds(decode),
                "detect_ms": milliseconds(detect), "detect_native_ms": milliseconds(detectNative),
                "chip_ms": milliseconds(align), "photo_ms": milliseconds(endToEnd),
            ]
            for (key, seconds) in more { stage[key] = milliseconds(seconds) }
            stages.append(stage)
        }
        let embedOne = try stopwatch.median { _ = try plain.embeddings(of: [chips[0]]) }
        let embedOneFlip = try stopwatch.median { _ = try flipped.embeddings(of: [chips[0]]) }
        let batch = Array(repeating: chips, count: 3).flatMap { $0 }.prefix(8).map { $0 }
        let embedBatch = try stopwatch.median { _ = try plain.embeddings(of: batch) } / Double(batch.count)
        print(
            String(
                format: "%@ embed: %.1f ms per face, %.1f ms with flip augmentation, %.1f ms per face in a batch of %d",
                model, embedOne * 1000, embedOneFlip * 1000, embedBatch * 1000, batch.count))
        return [
            "stages": stages,
            "embedding": [
                "embed_ms": milliseconds(embedOne), "embed_flip_ms": milliseconds(embedOneFlip),
                "embed_batched_ms_per_face": milliseconds(embedBatch), "batch": batch.count,
            ] as [String: Any],
        ]
    }

    /// Every decodable JPEG/PNG/WebP under the end-to-end folders, as bytes.
    private func endToEndPhotos() throws -> [[UInt8]] {
        var photos: [[UInt8]] = []
        let decoder = ImageDecoder()
        for folder in Self.endToEndFolders {
            let base = root + "/" + folder
            guard let walker = FileManager.default.enumerator(atPath: base) else { continue }
            for case let name as String in walker {
                guard let bytes = try? readFile(base + "/" + name) else { continue }
                if (try? decoder.readHeader(bytes)) != nil { photos.append(bytes) }
            }
        }
        guard !photos.isEmpty else { throw ValidationError("no photos under \(root)") }
        return photos
    }

    private func photosPerSecond(
        _ photos: [[UInt8]], model: FaceModelKind, workers: Int, models: FaceModels, settings: FaceEngineSettings
    ) async throws -> Double {
        let pool = try EnginePool(count: workers, model: model, models: models, settings: settings, queueLimit: 1 << 20)
        let decoder = ImageDecoder()
        let started = ContinuousClock.now
        _ = try await concurrentMap(photos, width: workers * 2) { bytes in
            _ = try await pool.run { engine in try engine.faceEncodings(in: decoder.decode(bytes)) }
        }
        return Double(photos.count) / ((ContinuousClock.now - started) / .seconds(1))
    }
}
