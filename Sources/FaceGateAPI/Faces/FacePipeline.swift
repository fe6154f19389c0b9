import Crypto
import FaceEngine
import Foundation
import ImageDecoding

/// Decoding and the face engine for one photo, run together on a free engine's own thread (never on the
/// cooperative pool or an event loop); a full queue fails at once with `overloaded` (503).
struct FacePipeline: Sendable {
    let engines: EnginePool
    let decoder: ImageDecoder
    let metrics: ServiceMetrics

    struct Analysis: Sendable {
        var width: Int
        var height: Int
        /// Largest first.
        var faces: [FaceEncoding]
        /// With `withCrop`: the photo around the largest face (`RGBImage.faceCrop`), upright.
        var crop: RGBImage?
    }

    /// The photo's faces with embeddings (at most `limit` embedded), and with `withCrop` the crop of the largest that
    /// a later model can embed again.
    func faceEncodings(in photo: [UInt8], limit: Int, withCrop: Bool = false) async throws -> Analysis {
        try await engines.run { [decoder, metrics] engine in
            let started = ContinuousClock.now
            let image = try decoder.decode(photo)
            let decoded = ContinuousClock.now
            metrics.recordStage("decode", duration: decoded - started)
            let faces = try engine.faceEncodings(in: image, limit: limit)
            metrics.recordStage("faces", duration: ContinuousClock.now - decoded)
            let crop = withCrop ? faces.first.map { face in
                (face.turn == .up ? image : image.applying(face.turn)).faceCrop(around: face.face.box)
            } : nil
            return Analysis(width: image.width, height: image.height, faces: faces, crop: crop)
        }
    }

    /// The photo's faces with landmarks, no embedding.
    func faceLocations(in photo: [UInt8]) async throws -> (width: Int, height: Int, faces: [DetectedFace]) {
        try await engines.run { [decoder] engine in
            let image = try decoder.decode(photo)
            let found = try engine.faceLocations(in: image)
            return (found.image.width, found.image.height, found.faces)
        }
    }
}
