import ImageDecoding

/// A face found in an image together with its embedding, aligned chip and quality measures.
public struct FaceEncoding: Sendable {
    public var face: DetectedFace
    public var embedding: [Float]
    public var chip: RGBImage
    public var quality: FaceQuality
}

extension FaceEngine {
    /// Detects faces, aligns each and embeds them in one batch: the whole pipeline after decoding. Largest face
    /// first; at most `limit` faces are embedded.
    public func faceEncodings(in image: RGBImage, limit: Int = .max) throws(FaceEngineError) -> [FaceEncoding] {
        let faces = Array(try detectFaces(in: image).prefix(limit))
        var chips: [RGBImage] = []
        for face in faces { chips.append(try faceChip(for: face, in: image)) }
        let embeddings = try faceEncodings(of: chips)
        return faces.indices.map { i in
            FaceEncoding(face: faces[i], embedding: embeddings[i], chip: chips[i],
                         quality: FaceQuality(face: faces[i], chip: chips[i]))
        }
    }
}
