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

extension FaceEngine {
    /// Detects faces (turning a sideways photo upright, see `detectFacesUpright`), aligns each and embeds them in
    /// one batch: the whole pipeline after decoding. Largest face first; at most `limit` faces are embedded.
    public func faceEncodings(in photo: RGBImage, limit: Int = .max) throws(FaceEngineError) -> [FaceEncoding] {
        let (found, image, turn) = try detectFacesUpright(in: photo)
        let faces = Array(found.prefix(limit))
        var chips: [RGBImage] = []
        for face in faces { chips.append(try faceChip(for: face, in: image)) }
        let embeddings = try faceEncodings(of: chips)
        return faces.indices.map { i in
            FaceEncoding(face: faces[i], embedding: embeddings[i], chip: chips[i],
                         quality: FaceQuality(face: faces[i], chip: chips[i]), turn: turn)
        }
    }
}
