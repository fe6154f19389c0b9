import ArgumentParser
import FaceEngine
import FaceGateAPI
import Foundation
import ImageDecoding

/// `facegate bench engine --root DIR`: per-stage times of the dlib recognizer and end-to-end photos/s on 1 and 2
/// engines, from the configured engine settings.
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Per-stage face engine times and end-to-end photos/s on 1..N workers; last stdout line is JSON.")

    @Option(help: "The shared face photos (shared/faces).") var root: String
    @Option(help: "Run each stage measurement for at least this many seconds.") var seconds = 1.0
    @Option(help: "Worker counts for the end-to-end run.") var workers: [Int] = [1, 2]
    @Option(help: "Rounds of the end-to-end run per worker count (alternating; medians are reported).") var rounds = 2
    @Flag(help: "Leave out the CNN detector timing (several seconds per run).") var skipCnn = false

    static let stagePhotos = ["480p", "720p", "1080p"].map { "face_recognition/obama/obama-\($0).jpg" }
    /// Real photos of one or more people at their own sizes (250 px to 4.6 MP) for the end-to-end run.
    static let endToEndFolders = ["face_recognition", "deepface/images", "compreface/identities", "dlib"]

    func run() async throws {
        let configuration = try EngineConfiguration(environment: EnvironmentFile.layeredEnvironment())
        let models = FaceModels(directory: configuration.modelsDirectory)
        var withCNN = configuration.settings
        withCNN.cnnFallback = true
        try models.verify(DlibRecognizer.descriptor(settings: withCNN).files)
        let stopwatch = Stopwatch(minRuns: 5, minSeconds: seconds)
        let decoder = ImageDecoder()
        var plain = configuration.settings
        plain.cnnFallback = false
        plain.flipAugmentation = false
        let hogEngine = try DlibRecognizer(models: models, settings: plain)
        var nativeSettings = plain
        nativeSettings.detectMaxSide = 8192
        let nativeEngine = try DlibRecognizer(models: models, settings: nativeSettings)
        let engine = try DlibRecognizer(models: models, settings: configuration.settings)

        var stages: [[String: Any]] = []
        var chips: [RGBImage] = []
        for path in Self.stagePhotos {
            let bytes = try readFile(root + "/" + path)
            let image = try decoder.decode(bytes)
            let decode = stopwatch.median { _ = try? decoder.decode(bytes) }
            let detect = try stopwatch.median { _ = try hogEngine.faceBoxes(in: image) }
            let detectNative = try stopwatch.median { _ = try nativeEngine.faceBoxes(in: image) }
            guard let face = try hogEngine.detectFaces(in: image).first else {
                throw ValidationError("no face found in \(path)")
            }
            let landmarks = try stopwatch.median { _ = try hogEngine.faceLandmarks(in: image, box: face.box) }
            let chip = try hogEngine.faceChip(for: face, in: image)
            let align = try stopwatch.median { _ = try hogEngine.faceChip(for: face, in: image) }
            chips.append(chip)
            let endToEnd = try stopwatch.median { _ = try engine.faceEncodings(in: decoder.decode(bytes)) }
            print(String(format: "%@ %dx%d: decode %.1f ms, HOG detect at %d px %.1f ms (native %.1f ms), "
                         + "landmarks %.2f ms, chip %.2f ms, whole photo %.1f ms", path, image.width, image.height,
                         decode * 1000, plain.detectSide(for: .dlib), detect * 1000, detectNative * 1000, landmarks * 1000,
                         align * 1000, endToEnd * 1000))
            stages.append([
                "photo": path, "width": image.width, "height": image.height, "decode_ms": milliseconds(decode),
                "detect_ms": milliseconds(detect), "detect_native_ms": milliseconds(detectNative),
                "landmarks_ms": milliseconds(landmarks), "chip_ms": milliseconds(align),
                "photo_ms": milliseconds(endToEnd),
            ])
        }

        let one = [chips[0]]
        let embedOne = try stopwatch.median { _ = try hogEngine.faceEncodings(of: one) }
        let embedOneFlip = try stopwatch.median { _ = try engine.faceEncodings(of: one) }
        let batch = Array(repeating: chips, count: 3).flatMap { $0 }.prefix(8).map { $0 }
        let embedBatch = try stopwatch.median { _ = try hogEngine.faceEncodings(of: batch) } / Double(batch.count)
        print(String(format: "embed: %.1f ms per face, %.1f ms with flip augmentation, %.1f ms per face in a batch of %d",
                     embedOne * 1000, embedOneFlip * 1000, embedBatch * 1000, batch.count))
        var embedding: [String: Any] = [
            "embed_ms": milliseconds(embedOne), "embed_flip_ms": milliseconds(embedOneFlip),
            "embed_batched_ms_per_face": milliseconds(embedBatch), "batch": batch.count,
        ]
        if !skipCnn {
            var cnnSettings = plain
            cnnSettings.detector = .cnn
            let cnnEngine = try DlibRecognizer(models: models, settings: cnnSettings)
            let image = try decoder.decode(readFile(root + "/" + Self.stagePhotos[0]))
            let cnn = try Stopwatch(warmUp: 1, minRuns: 3, minSeconds: 0).median { _ = try cnnEngine.faceBoxes(in: image) }
            print(String(format: "CNN detect at %d px: %.0f ms", cnnSettings.detectSide(for: .dlib), cnn * 1000))
            embedding["cnn_detect_ms"] = milliseconds(cnn)
        }

        let photos = try endToEndPhotos()
        var perWorkers: [Int: [Double]] = [:]
        for _ in 0..<rounds {
            for count in workers {
                let rate = try await photosPerSecond(photos, workers: count, models: models, settings: configuration.settings)
                perWorkers[count, default: []].append(rate)
            }
        }
        var throughput: [[String: Any]] = []
        for count in workers {
            let rate = median(perWorkers[count] ?? [])
            print(String(format: "end to end, %d worker(s): %.1f photos/s over %d photos (median of %d rounds)",
                         count, rate, photos.count, rounds))
            throughput.append(["workers": count, "photos_per_s": rounded(rate, 2), "rounds": perWorkers[count] ?? []])
        }
        try printJSON([
            "settings": [
                "detector": configuration.settings.detector.rawValue, "detect_max_side": configuration.settings.detectSide(for: .dlib),
                "upsample": configuration.settings.upsample, "flip": configuration.settings.flipAugmentation,
                "cnn_fallback": configuration.settings.cnnFallback,
                "openblas_threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset",
            ] as [String: Any],
            "stages": stages, "embedding": embedding, "end_to_end": throughput, "photos": photos.count,
        ])
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
        _ photos: [[UInt8]], workers: Int, models: FaceModels, settings: FaceEngineSettings
    ) async throws -> Double {
        let pool = try EnginePool(count: workers, model: .dlib, models: models, settings: settings, queueLimit: 1 << 20)
        let decoder = ImageDecoder()
        let started = ContinuousClock.now
        _ = try await concurrentMap(photos, width: workers * 2) { bytes in
            _ = try await pool.run { engine in try engine.faceEncodings(in: decoder.decode(bytes)) }
        }
        return Double(photos.count) / ((ContinuousClock.now - started) / .seconds(1))
    }
}
