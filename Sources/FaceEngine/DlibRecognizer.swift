import CDlibShim
import ImageDecoding

/// The dlib recognizer: HOG (or CNN) detector, 5-point landmark model and ResNet embedder, loaded once. NOT
/// thread-safe: use one per thread (`EnginePool` does that). Beside the seam's verbs, dlib's own steps: `faceBoxes`
/// (face_recognition's `face_locations`), `faceLandmarks`, `detectFaces`; `faceDistance` is a free function.
public final class DlibRecognizer: FaceRecognizer {
    public static let chipSize = 150
    public static let chipPadding = 0.25
    public static let embeddingDimensions = 128

    public let settings: FaceEngineSettings
    public let descriptor: FaceModelDescriptor
    /// Side of the detectors' scanning window in pixels: smaller faces are found only with upsampling.
    public static let detectorWindow = 80
    private let hog: OpaquePointer?
    private let cnn: OpaquePointer?
    private let shapePredictor: OpaquePointer
    private let embedder: OpaquePointer

    /// dlib's model as stored on face rows: the embedder's checksum, and "+flip" when mirror images are averaged in
    /// (the two settings give slightly different vectors of the same space).
    public static func descriptor(settings: FaceEngineSettings) -> FaceModelDescriptor {
        FaceModelDescriptor(
            name: FaceModelKind.dlib.rawValue, storedName: FaceModels.embedder.name,
            version: String(FaceModels.embedder.sha256.prefix(12)) + (settings.flipAugmentation ? "+flip" : ""),
            dimension: embeddingDimensions, landmarkLayout: .dlibEyeCornersNoseBase,
            detector: settings.detector.rawValue,
            files: [FaceModels.embedder, FaceModels.landmarks]
                + (settings.detector == .cnn || settings.cnnFallback ? [FaceModels.cnnDetector] : []),
            falseMatches: settings.flipAugmentation ? FalseMatchCurves.dlibFlip : FalseMatchCurves.dlib)
    }

    public init(models: FaceModels, settings: FaceEngineSettings = .init()) throws(FaceEngineError) {
        self.settings = settings
        self.descriptor = Self.descriptor(settings: settings)
        var predictor: OpaquePointer?
        var embedder: OpaquePointer?
        var hog: OpaquePointer?
        var cnn: OpaquePointer?
        try callShim(load: models.path(of: FaceModels.landmarks)) { fg_shape_predictor_create($0, &predictor, $1, $2) }
        do {
            try callShim(load: models.path(of: FaceModels.embedder)) { fg_embedder_create($0, &embedder, $1, $2) }
            if settings.detector == .hog { try callShim { fg_hog_detector_create(&hog, $0, $1) } }
            if settings.detector == .cnn || settings.cnnFallback {
                try callShim(load: models.path(of: FaceModels.cnnDetector)) { fg_cnn_detector_create($0, &cnn, $1, $2) }
            }
        } catch {
            fg_shape_predictor_destroy(predictor)
            fg_embedder_destroy(embedder)
            throw error
        }
        self.hog = hog
        self.cnn = cnn
        self.shapePredictor = predictor!
        self.embedder = embedder!
    }

    deinit {
        fg_hog_detector_destroy(hog)
        fg_cnn_detector_destroy(cnn)
        fg_shape_predictor_destroy(shapePredictor)
        fg_embedder_destroy(embedder)
    }

    /// Face boxes (full-image coordinates) with detector scores, largest face first. Detection runs on a copy
    /// downscaled to `settings.detectMaxSide`, with the configured detector; when HOG finds nothing there, on a finer
    /// copy (`settings.fineMaxSide`), then with the CNN on the first copy (`settings.cnnFallback`).
    public func faceBoxes(in image: RGBImage) throws(FaceEngineError) -> [(box: FaceBox, score: Double)] {
        let small = image.downscaled(toFit: settings.detectSide(for: .dlib))
        let found = try locateUpright(in: image, small: small)
        guard found.isEmpty, settings.detector == .hog, settings.cnnFallback else { return found }
        return Self.mapped(try locate(in: small, detector: .cnn), from: small, to: image)
    }

    /// The configured detector on the detection copy `small` of `image`; with HOG, when that finds nothing, HOG once
    /// more on a finer copy (longer side up to `settings.fineMaxSide`) if it is meaningfully finer. Faces in `image`
    /// coordinates.
    private func locateUpright(
        in image: RGBImage, small: RGBImage
    ) throws(FaceEngineError) -> [(box: FaceBox, score: Double)] {
        let found = try locate(in: small, detector: settings.detector)
        let side = min(max(image.width, image.height), settings.fineMaxSide)
        guard found.isEmpty, settings.detector == .hog, side * 4 >= max(small.width, small.height) * 5 else {
            return Self.mapped(found, from: small, to: image)
        }
        let finer = image.downscaled(toFit: side)
        return Self.mapped(try locate(in: finer, detector: .hog), from: finer, to: image)
    }

    /// Runs one detector on an already downscaled picture; boxes in its coordinates.
    private func locate(in small: RGBImage, detector: FaceDetectorKind) throws(FaceEngineError) -> [fg_detection] {
        var detections = [fg_detection](repeating: fg_detection(), count: 64)
        var count: Int32 = 0
        try small.withView { view throws(FaceEngineError) in
            switch detector {
            case .hog:
                guard let hog else { return }
                try callShim {
                    fg_hog_detect(
                        hog, view, Int32(settings.upsample), settings.hogThreshold, &detections, 64, &count, $0, $1)
                }
            case .cnn:
                // Both detectors scan an 80×80 window; dlib's CNN throws on inputs smaller than its filters instead
                // of finding nothing, so a picture that cannot hold a findable face is not given to it.
                let scannedSide = min(small.width, small.height) << settings.upsample
                guard let cnn, scannedSide >= Self.detectorWindow else { return }
                try callShim { fg_cnn_detect(cnn, view, Int32(settings.upsample), &detections, 64, &count, $0, $1) }
            }
        }
        return Array(detections.prefix(Int(min(count, 64))))
    }

    private static func mapped(
        _ detections: [fg_detection], from small: RGBImage, to image: RGBImage
    ) -> [(box: FaceBox, score: Double)] {
        let scaleX = Double(image.width) / Double(small.width), scaleY = Double(image.height) / Double(small.height)
        let found = detections.map { d -> (box: FaceBox, score: Double) in
            // Clip to the image: dlib boxes may reach past the edges for faces cut by the frame.
            let left = max(0, Int((Double(d.left) * scaleX).rounded()))
            let top = max(0, Int((Double(d.top) * scaleY).rounded()))
            let right = min(image.width, Int((Double(d.right + 1) * scaleX).rounded()))
            let bottom = min(image.height, Int((Double(d.bottom + 1) * scaleY).rounded()))
            return (FaceBox(x: left, y: top, width: max(1, right - left), height: max(1, bottom - top)), d.score)
        }
        return found.sorted { $0.box.area > $1.box.area }
    }

    /// Finds faces in a photo that may be turned sideways or upside down without an EXIF tag saying so: HOG on the
    /// picture as it is (on the detection copy, then on a finer one for small faces), then (with
    /// `settings.rotationFallback`) turned a quarter clockwise, a quarter anticlockwise and half round, and only
    /// then the CNN fallback on the picture as it is. Returns the faces with the picture they were found in (boxes
    /// and landmarks refer to it) and how it was turned.
    public func faceLocations(in image: RGBImage) throws(FaceEngineError) -> FaceDetection {
        let (faces, turned, turn) = try detectFacesUpright(in: image)
        return FaceDetection(faces: faces, image: turned, turn: turn)
    }

    private func detectFacesUpright(
        in image: RGBImage
    ) throws(FaceEngineError) -> (faces: [DetectedFace], image: RGBImage, turn: EXIFOrientation) {
        guard settings.detector == .hog, settings.rotationFallback else {
            return (try detectFaces(in: image), image, .up)
        }
        let small = image.downscaled(toFit: settings.detectSide(for: .dlib))
        let upright = try locateUpright(in: image, small: small)
        if !upright.isEmpty { return (try withLandmarks(upright, in: image), image, .up) }
        // Only the small detection copy is turned for each try; the full image is turned once a face is found.
        for turn: EXIFOrientation in [.right, .left, .down] {
            let turnedSmall = small.applying(turn)
            let detections = try locate(in: turnedSmall, detector: .hog)
            if detections.isEmpty { continue }
            let turned = image.applying(turn)
            return (try withLandmarks(Self.mapped(detections, from: turnedSmall, to: turned), in: turned), turned, turn)
        }
        guard settings.cnnFallback else { return ([], image, .up) }
        let found = Self.mapped(try locate(in: small, detector: .cnn), from: small, to: image)
        return (try withLandmarks(found, in: image), image, .up)
    }

    /// The five landmarks of the face in `box`, from the full-resolution image.
    public func faceLandmarks(in image: RGBImage, box: FaceBox) throws(FaceEngineError) -> [Point] {
        var points = [Float](repeating: 0, count: 2 * 68)
        var parts: Int32 = 0
        try image.withView { view throws(FaceEngineError) in
            try callShim { fg_shape_predict(shapePredictor, view, box.detection, &points, 68, &parts, $0, $1) }
        }
        return (0..<Int(min(parts, 68))).map { Point(x: points[2 * $0], y: points[2 * $0 + 1]) }
    }

    /// Every face with its landmarks, largest first.
    public func detectFaces(in image: RGBImage) throws(FaceEngineError) -> [DetectedFace] {
        try withLandmarks(try faceBoxes(in: image), in: image)
    }

    private func withLandmarks(
        _ locations: [(box: FaceBox, score: Double)], in image: RGBImage
    ) throws(FaceEngineError) -> [DetectedFace] {
        var faces: [DetectedFace] = []
        for location in locations {
            faces.append(
                DetectedFace(
                    box: location.box, score: location.score, landmarks: try faceLandmarks(in: image, box: location.box)
                ))
        }
        return faces
    }

    /// The 150 × 150 aligned chip of `face` (eyes level, scaled, 25 % padding), as the embedder expects it.
    public func faceChip(for face: DetectedFace, in image: RGBImage) throws(FaceEngineError) -> RGBImage {
        var chip = [UInt8](repeating: 0, count: Self.chipSize * Self.chipSize * 3)
        let points = face.landmarks.flatMap { [$0.x, $0.y] }
        try image.withView { view throws(FaceEngineError) in
            try callShim { error, size in
                fg_extract_face_chip(
                    view, face.box.detection, points, Int32(face.landmarks.count),
                    Int32(Self.chipSize), Self.chipPadding, &chip, error, size)
            }
        }
        return RGBImage(width: Self.chipSize, height: Self.chipSize, pixels: chip)
    }

    /// L2-normalised 128-d embeddings of aligned chips, in one network call (with their mirror images too when
    /// `settings.flipAugmentation` is on).
    public func embeddings(of chips: [RGBImage]) throws(FaceEngineError) -> [[Float]] {
        try settings.flipAugmentation ? mirrorAveraged(chips, embed: embed) : embed(chips)
    }

    public func quickEmbeddings(of chips: [RGBImage]) throws(FaceEngineError) -> [[Float]] { try embed(chips) }

    private func embed(_ chips: [RGBImage]) throws(FaceEngineError) -> [[Float]] {
        guard !chips.isEmpty else { return [] }
        var batch: [UInt8] = []
        batch.reserveCapacity(chips.count * Self.chipSize * Self.chipSize * 3)
        for chip in chips {
            precondition(chip.width == Self.chipSize && chip.height == Self.chipSize, "chips are 150 x 150")
            batch.append(contentsOf: chip.pixels)
        }
        var descriptors = [Float](repeating: 0, count: chips.count * Self.embeddingDimensions)
        try callShim { fg_embed_chips(embedder, batch, Int32(chips.count), &descriptors, $0, $1) }
        return (0..<chips.count).map { i in
            l2Normalized(Array(descriptors[(i * Self.embeddingDimensions)..<((i + 1) * Self.embeddingDimensions)]))
        }
    }
}

extension FaceBox {
    var detection: fg_detection {
        fg_detection(left: x, top: y, right: x + width - 1, bottom: y + height - 1, score: 0)
    }
}

// MARK: - Calling the shims

/// Runs a shim function that returns non-zero with a message on failure.
func callShim(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws(FaceEngineError) {
    var error = [CChar](repeating: 0, count: 512)
    let status = error.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    if status != 0 { throw .engineFailure(shimMessage(error)) }
}

/// Runs a shim function that loads the model at `path`.
func callShim(
    load path: String, _ body: (String, UnsafeMutablePointer<CChar>, Int) -> Int32
) throws(FaceEngineError) {
    var error = [CChar](repeating: 0, count: 512)
    let status = error.withUnsafeMutableBufferPointer { body(path, $0.baseAddress!, $0.count) }
    if status != 0 { throw .modelLoadFailed("\(path): \(shimMessage(error))") }
}

private func shimMessage(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension RGBImage {
    /// A borrowed view for the shim, valid only inside `body`.
    func withView<T>(_ body: (fg_rgb_view) throws(FaceEngineError) -> T) throws(FaceEngineError) -> T {
        let result: Result<T, FaceEngineError> = pixels.withUnsafeBufferPointer { buffer in
            let view = fg_rgb_view(pixels: buffer.baseAddress, width: width, height: height, stride: stride)
            do throws(FaceEngineError) { return .success(try body(view)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
