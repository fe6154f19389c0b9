/// A face box in the coordinates of the full-resolution image (pixels, origin top left).
public struct FaceBox: Sendable, Equatable, Codable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var area: Int { width * height }
}

public struct Point: Sendable, Equatable, Codable {
    public var x: Float
    public var y: Float
    public init(x: Float, y: Float) {
        self.x = x
        self.y = y
    }
}

/// One face found in an image: where it is, how sure the detector is, and its five landmarks (two corners of each
/// eye and the base of the nose with dlib; eye centres, nose tip and mouth corners with YuNet: `LandmarkLayout`).
public struct DetectedFace: Sendable, Equatable {
    public var box: FaceBox
    public var score: Double
    public var landmarks: [Point]

    public init(box: FaceBox, score: Double, landmarks: [Point]) {
        self.box = box
        self.score = score
        self.landmarks = landmarks
    }
}

/// Which detector finds faces: `FACE_DETECTOR=hog|cnn`.
public enum FaceDetectorKind: String, Sendable, CaseIterable {
    /// dlib's HOG + linear SVM: fast on CPU, frontal faces.
    case hog
    /// dlib's MMOD CNN: finds more turned faces, but far slower than HOG on CPU (benchmarks/README.md) and
    /// memory-hungry.
    case cnn
}
