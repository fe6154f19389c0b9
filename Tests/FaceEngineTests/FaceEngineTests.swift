import FaceEngine
import Foundation
import ImageDecoding
import TestSupport
import Testing

/// One engine shared by the suite (loading takes ~0.5 s); the suite runs serially because engines are not
/// thread-safe.
@Suite("Face engine: dlib", .serialized, .requiresFacesAndModels)
final class FaceEngineTests {
    let engine: DlibRecognizer
    let decoder = ImageDecoder()
    let tolerance: Float = 0.0883

    init() throws {
        engine = try DlibRecognizer(models: FaceModels(directory: TestEnvironment.modelsDirectory))
    }

    func encode(_ path: String) throws -> [FaceEncoding] {
        try engine.faceEncodings(in: decoder.decode(TestEnvironment.photo(path)))
    }

    @Test("the same person is within the tolerance, different people are not")
    func sameAndDifferentPeople() throws {
        let obama = try #require(try encode("face_recognition/obama/obama.jpg").first)
        let obama2 = try #require(try encode("face_recognition/obama/obama2.jpg").first)
        let biden = try #require(try encode("face_recognition/biden/biden.jpg").first)
        #expect(obama.embedding.count == 128)
        let norm = obama.embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(norm - 1) < 1e-4)
        #expect(faceDistance(obama.embedding, obama2.embedding) < tolerance)
        #expect(faceDistance(obama.embedding, biden.embedding) > tolerance * 2)
    }

    @Test(
        "frontal faces have a pose near 0 degrees",
        arguments: [
            "face_recognition/obama/obama.jpg", "skimage/astronaut.png", "face_recognition/obama/obama-720p.jpg",
        ])
    func frontalPose(_ path: String) throws {
        let face = try #require(try encode(path).first)
        #expect(abs(face.quality.yaw) < 15, "yaw \(face.quality.yaw)")
        #expect(abs(face.quality.roll) < 10, "roll \(face.quality.roll)")
        #expect(face.face.landmarks.count == 5)
        #expect(face.quality.sharpness > 20)
    }

    @Test("an EXIF-rotated photo is found upright, and the in-plane 20 degree roll is measured")
    func orientationAndRoll() throws {
        let rotated = try #require(try encode("edge_cases/exif_orientation/astronaut_exif6.jpg").first)
        #expect(abs(rotated.quality.roll) < 10)
        let rolled = try #require(try encode("edge_cases/rotated/astronaut_roll20.jpg").first)
        #expect(abs(abs(rolled.quality.roll) - 20) < 6, "roll \(rolled.quality.roll)")
    }

    @Test("a face too small for the 640 px detection copy is found on the finer copy, where it is in the photo")
    func smallFaceInALargePhoto() throws {
        // personF-img1: 1880 × 1253 with a ~130 px face, ~44 px on the 640 px copy (below HOG's 80 px window).
        let photo = try decoder.decode(TestEnvironment.photo("compreface/identities/personF/personF-img1.jpg"))
        var coarse = FaceEngineSettings()
        (coarse.fineMaxSide, coarse.rotationFallback, coarse.cnnFallback) = (0, false, false)
        #expect(
            try DlibRecognizer(models: FaceModels(directory: TestEnvironment.modelsDirectory), settings: coarse)
                .faceBoxes(in: photo).isEmpty)
        let found = try #require(try engine.faceEncodings(in: photo).first)
        #expect(found.turn == .up)
        #expect(abs(found.face.box.x - 698) < 30 && abs(found.face.box.y - 368) < 30, "\(found.face.box)")
        #expect((100...170).contains(found.face.box.width), "\(found.face.box)")
        // faceBoxes (no rotation fallback) takes the same finer look.
        #expect(try engine.faceBoxes(in: photo).count == 1)
    }

    @Test(
        "a photo stored sideways or upside down without EXIF is turned upright and matches the upright photo",
        arguments: [
            ("edge_cases/rotated/astronaut_rot90ccw.jpg", EXIFOrientation.right),
            ("edge_cases/rotated/astronaut_rot180.jpg", .down),
        ])
    func turnedPhotos(_ path: String, _ expectedTurn: EXIFOrientation) throws {
        let upright = try #require(try encode("skimage/astronaut.png").first)
        let turned = try #require(try encode(path).first)
        #expect(turned.turn == expectedTurn)
        #expect(
            faceDistance(upright.embedding, turned.embedding) < tolerance / 2,
            "distance \(faceDistance(upright.embedding, turned.embedding))")
        #expect(abs(turned.quality.roll) < 10)
    }

    @Test("blur lowers the sharpness measure; a heavily blurred face is not found at all")
    func sharpness() throws {
        let photo = try decoder.decode(TestEnvironment.photo("skimage/astronaut.png"))
        let sharp = try #require(try engine.faceEncodings(in: photo).first)
        let blurred = try #require(try engine.faceEncodings(in: boxBlurred(photo, radius: 2)).first)
        #expect(
            blurred.quality.sharpness < sharp.quality.sharpness / 3,
            "sharp \(sharp.quality.sharpness), blurred \(blurred.quality.sharpness)")
        #expect(try encode("edge_cases/quality/astronaut_blur6.jpg").isEmpty)
    }

    @Test(
        "photos without a face give no face",
        arguments: [
            "edge_cases/noface/white_640x480.jpg", "edge_cases/noface/noise_320x240.jpg", "skimage/coffee.png",
        ])
    func noFace(_ path: String) throws {
        #expect(try encode(path).isEmpty)
    }

    @Test("several faces come largest first, with boxes inside the image")
    func multipleFaces() throws {
        let image = try decoder.decode(TestEnvironment.photo("face_recognition/multi/obama_and_biden.jpg"))
        let faces = try engine.detectFaces(in: image)
        #expect(faces.count == 2)
        #expect(faces.map(\.box.area) == faces.map(\.box.area).sorted(by: >))
        for face in faces {
            #expect(face.box.x >= 0 && face.box.y >= 0)
            #expect(face.box.x + face.box.width <= image.width && face.box.y + face.box.height <= image.height)
        }
    }

    @Test("the enrolment gates accept a good portrait and name the reason for each bad one")
    func enrolmentGates() throws {
        let gate = EnrolmentGate()
        let portrait = try encode("face_recognition/obama/obama.jpg")
        #expect(try gate.check(portrait).face == portrait[0].face)

        #expect(throws: EnrolmentRejection.noFace) { try gate.check(encode("skimage/coffee.png")) }
        let pair = try encode("face_recognition/multi/obama_and_biden.jpg")
        #expect(throws: EnrolmentRejection.multipleFaces(count: 2)) { try gate.check(pair) }
        var allowGroups = gate
        allowGroups.allowMultipleFaces = true
        #expect(try allowGroups.check(pair).face == pair[0].face)

        let rolled = try encode("edge_cases/rotated/astronaut_roll45.jpg")
        do {
            _ = try gate.check(rolled)
            Issue.record("a face tilted 45 degrees passed the pose gate")
        } catch {
            if case .poseTooFar = error {} else { Issue.record("\(error)") }
        }

        let astronaut = try decoder.decode(TestEnvironment.photo("skimage/astronaut.png"))
        let blurred = try engine.faceEncodings(in: boxBlurred(astronaut, radius: 3))
        do {
            _ = try gate.check(blurred)
            Issue.record("a box-blurred face passed the sharpness gate")
        } catch {
            if case .tooBlurry = error {} else { Issue.record("\(error)") }
        }

        var demanding = gate
        demanding.minFaceSize = 200
        let astronautFaces = try engine.faceEncodings(in: astronaut)
        do {
            _ = try demanding.check(astronautFaces)
            Issue.record("an 88-pixel face passed a 200-pixel minimum")
        } catch {
            if case .faceTooSmall = error {} else { Issue.record("\(error)") }
        }
    }

    @Test("detection on a downscaled copy maps boxes back to the full image")
    func boxesInFullResolution() throws {
        let full = try decoder.decode(TestEnvironment.photo("face_recognition/obama/obama-1080p.jpg"))
        let face = try #require(try engine.detectFaces(in: full).first)
        let small = full.downscaled(toFit: 480)
        let smallFace = try #require(try engine.detectFaces(in: small).first)
        let scale = Double(full.width) / Double(small.width)
        #expect(abs(Double(face.box.x) - Double(smallFace.box.x) * scale) < 0.1 * Double(face.box.width))
        #expect(face.box.width > 100)
    }
}

@Suite("Tiny pictures", .requiresModels)
struct TinyPictureTests {
    static let configurations: [(FaceDetectorKind, Int)] = [(.hog, 0), (.cnn, 0), (.cnn, 1)]

    @Test(
        "pictures too small for a face give no face from either detector, never an engine error",
        arguments: configurations.indices)
    func tinyPictures(_ index: Int) throws {
        var settings = FaceEngineSettings()
        (settings.detector, settings.upsample) = Self.configurations[index]
        let engine = try DlibRecognizer(
            models: FaceModels(directory: TestEnvironment.modelsDirectory), settings: settings)
        for side in [1, 2, 8, 25, 39, 40, 41, 79, 80, 81] {
            for (width, height) in [(side, side), (side, 200), (200, side)] {
                let grey = RGBImage(width: width, height: height, red: 128, green: 128, blue: 128)
                #expect(try engine.faceEncodings(in: grey).isEmpty, "\(width)x\(height)")
            }
        }
    }
}

@Suite("Face models and pool", .requiresModels)
struct EnginePoolTests {
    @Test("models/SHA256SUMS lists exactly the checksums the engine verifies")
    func checksumsAgree() throws {
        let sums = try String(contentsOfFile: TestEnvironment.repositoryRoot + "/models/SHA256SUMS", encoding: .utf8)
        let listed = Set(
            sums.split(separator: "\n").map { line in
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                return "\(parts[1]) \(parts[0])"
            })
        #expect(listed == Set(FaceModels.all.map { "\($0.name) \($0.sha256)" }))
        try FaceModels(directory: TestEnvironment.modelsDirectory).verify()
    }

    @Test("a missing or altered model is refused with its name")
    func badModels() throws {
        let folder = NSTemporaryDirectory() + "facegate-models-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = FileManager.default.createFile(
            atPath: folder + "/" + FaceModels.embedder.name, contents: Data("not a model".utf8))
        do {
            try FaceModels(directory: folder).verify()
            Issue.record("verification passed")
        } catch {
            #expect(error.description.contains(FaceModels.embedder.name))
            #expect(error.description.contains(FaceModels.landmarks.name + " is missing"))
        }
    }

    @Test("a full queue refuses new work at once instead of waiting")
    func overload() async throws {
        let pool = try EnginePool(
            count: 1, models: FaceModels(directory: TestEnvironment.modelsDirectory), settings: .init(), queueLimit: 1)
        let gate = DispatchSemaphore(value: 0)
        let busy = Task { try await pool.run { _ in gate.wait() } }
        while pool.busyEngines == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let queued = Task { try await pool.run { _ in 42 } }
        while pool.queueDepth == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: FaceEngineError.overloaded(queueLimit: 1)) { try await pool.run { _ in 0 } }
        gate.signal()
        try await busy.value
        #expect(try await queued.value == 42)
        #expect(pool.queueDepth == 0 && pool.busyEngines == 0)
    }

    @Test("a job cancelled at any moment while it waits for an engine returns at once, not when an engine frees")
    func promptCancellation() async throws {
        let pool = try EnginePool(
            count: 1, models: FaceModels(directory: TestEnvironment.modelsDirectory), settings: .init(),
            queueLimit: 10_000)
        let gate = DispatchSemaphore(value: 0)
        let busy = Task { try await pool.run { _ in gate.wait() } }
        while pool.busyEngines == 0 { try await Task.sleep(for: .milliseconds(5)) }
        // Cancelled before they start, while they start (between joining and not yet having joined the queue) and
        // while they wait in it: each must end with CancellationError while the one engine is still busy.
        var jobs: [Task<Int, any Error>] = []
        for round in 0..<400 {
            let job = Task { try await pool.run { _ in 1 } }
            if round % 4 == 1 { await Task.yield() }
            if round % 4 == 2 { try await Task.sleep(for: .microseconds(50)) }
            job.cancel()
            jobs.append(job)
        }
        // A job that missed its cancellation would wait for the engine: the rescue frees it after 30 s, so that the
        // test fails instead of hanging.
        let rescue = Task { () -> Bool in
            do { try await Task.sleep(for: .seconds(30)) } catch { return false }
            gate.signal()
            return true
        }
        var cancelled = 0
        for job in jobs {
            do { _ = try await job.value } catch is CancellationError { cancelled += 1 }
        }
        rescue.cancel()
        let rescued = await rescue.value
        #expect(!rescued && cancelled == jobs.count)
        #expect(pool.queueDepth == 0)
        if !rescued { gate.signal() }
        try await busy.value
        #expect(try await pool.run { _ in 7 } == 7)
    }

    @Test("a job whose expected wait passes maxWait is refused at once, though the queue has room")
    func overloadByExpectedWait() async throws {
        let pool = try EnginePool(
            count: 1, models: FaceModels(directory: TestEnvironment.modelsDirectory), settings: .init(),
            queueLimit: 100,
            maxWait: .milliseconds(150))
        // Before any job has run there is no estimate: nothing is refused for time.
        #expect(pool.averageJobTime == nil)
        _ = try await pool.run { _ in usleep(200_000) }
        #expect(try #require(pool.averageJobTime) >= .milliseconds(200))
        let gate = DispatchSemaphore(value: 0)
        let busy = Task { try await pool.run { _ in gate.wait() } }
        while pool.busyEngines == 0 { try await Task.sleep(for: .milliseconds(5)) }
        // One job ahead at ≥ 200 ms each on one engine: an expected wait over 150 ms.
        await #expect(throws: FaceEngineError.overloaded(queueLimit: 100)) { try await pool.run { _ in 0 } }
        #expect(pool.queueDepth == 0)
        gate.signal()
        try await busy.value
        // A free engine is always taken, whatever the average.
        #expect(try await pool.run { _ in 7 } == 7)
    }
}

/// A (2r+1)² box blur, edges clamped.
func boxBlurred(_ image: RGBImage, radius: Int) -> RGBImage {
    var out = image.pixels
    for y in 0..<image.height {
        for x in 0..<image.width {
            var sum = (0, 0, 0), count = 0
            for dy in -radius...radius {
                for dx in -radius...radius {
                    let sx = min(max(x + dx, 0), image.width - 1), sy = min(max(y + dy, 0), image.height - 1)
                    let i = (sy * image.width + sx) * 3
                    sum.0 += Int(image.pixels[i])
                    sum.1 += Int(image.pixels[i + 1])
                    sum.2 += Int(image.pixels[i + 2])
                    count += 1
                }
            }
            let o = (y * image.width + x) * 3
            out[o] = UInt8(sum.0 / count)
            out[o + 1] = UInt8(sum.1 / count)
            out[o + 2] = UInt8(sum.2 / count)
        }
    }
    return RGBImage(width: image.width, height: image.height, pixels: out)
}
