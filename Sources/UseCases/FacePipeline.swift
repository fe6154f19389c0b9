import FaceEngine
import Foundation
import ImageDecoding

/// Where the pipeline reports how long its stages took (the service's metrics).
public protocol StageTimings: Sendable {
    /// One stage: `decode`, or `faces` (detection, alignment and embedding).
    func recordStage(_ stage: String, duration: Duration)
}

/// Decoding and the face engine for one photo, run together on a free engine's own thread (never on the
/// cooperative pool or an event loop); a full queue fails at once (`EnginePoolError`, 503 in the API).
public struct FacePipeline: Sendable {
    public let engines: EnginePool
    let decoder: ImageDecoder
    let timings: (any StageTimings)?

    public init(engines: EnginePool, decoder: ImageDecoder, timings: (any StageTimings)? = nil) {
        self.engines = engines
        self.decoder = decoder
        self.timings = timings
    }

    public struct Analysis: Sendable {
        public var width: Int
        public var height: Int
        /// Largest first.
        public var faces: [FaceEncoding]
        /// With `withCrop`: the photo around the largest face (`RGBImage.faceCrop`), upright.
        public var crop: RGBImage?
    }

    /// The photo's faces with embeddings (at most `limit` embedded), and with `withCrop` the crop of the largest that
    /// a later model can embed again.
    public func analyse(_ photo: [UInt8], limit: Int, withCrop: Bool = false) async throws -> Analysis {
        try await engines.run { [decoder, timings] engine in
            let started = ContinuousClock.now
            let image = try decoder.decode(photo)
            let decoded = ContinuousClock.now
            timings?.recordStage("decode", duration: decoded - started)
            let faces = try engine.faceEncodings(in: image, limit: limit)
            timings?.recordStage("faces", duration: ContinuousClock.now - decoded)
            let crop =
                withCrop
                ? faces.first.map { face in
                    (face.turn == .up ? image : image.applying(face.turn)).faceCrop(around: face.face.box)
                } : nil
            return Analysis(width: image.width, height: image.height, faces: faces, crop: crop)
        }
    }

    /// The photo's faces with landmarks, no embedding.
    public func faceLocations(in photo: [UInt8]) async throws -> (width: Int, height: Int, faces: [DetectedFace]) {
        try await engines.run { [decoder] engine in
            let image = try decoder.decode(photo)
            let found = try engine.faceLocations(in: image)
            return (found.image.width, found.image.height, found.faces)
        }
    }
}
