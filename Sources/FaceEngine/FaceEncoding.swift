import ImageDecoding

/// A face found in an image together with its embedding, aligned chip and quality measures.
public struct FaceEncoding: Sendable {
    public var face: DetectedFace
    public var embedding: [Float]
    public var chip: RGBImage
    public var quality: FaceQuality
    /// How the photo was turned to find the face (`.up`: as given). `face.box` and `face.landmarks` refer to the
    /// photo turned this way.
    public var turn: EXIFOrientation = .up
}
