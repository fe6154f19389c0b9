import FaceEngine
import Foundation
import ImageDecoding
import Liveness

/// What the frames of a liveness challenge showed.
public struct ChallengeFrames: Sendable {
    /// The check's refusal (before identity), nil when the frames show a live turn the asked way.
    public var refusal: LivenessRefusal?
    public var measures: LivenessMeasures?
    /// The largest face of the most frontal frame, embedded (nil when a frame showed no face): the identity is read
    /// from it. `others`: the embeddings (`quickEmbeddings`) of the most turned face and of a face posed unlike both
    /// (turned the other way), if any.
    public var frontal: FaceEncoding?
    public var others: [[Float]] = []

    /// The refusal with the identity checked first: every other face embedded must lie within `tolerance` (the 1:1
    /// tolerance) of the frontal one, or the frames show `differentPeople`.
    public func refusal(samePersonWithin tolerance: Float) -> LivenessRefusal? {
        guard let frontal, !others.isEmpty else { return .faceMissing }
        guard others.allSatisfy({ faceDistance(frontal.embedding, $0) <= tolerance }) else {
            return .differentPeople
        }
        return refusal
    }
}

extension FaceRecognizer {
    /// Finds the largest face of every frame with its landmarks, judges the sequence (`LivenessCheck`), and embeds the
    /// most frontal face as a photo's is, the most turned one once (`quickEmbeddings`): 2–8 detections and one and a
    /// half embeddings (none when a frame shows no face). A frame whose yaw lies more than `LivenessCheck.poseApart`
    /// outside the turn's (from the first frame and the turn's start through the most frontal to the most turned) is
    /// embedded too: a turn the asked way never has one, frames of another person often do.
    public func challengeFrames(
        in images: [RGBImage], asked: TurnDirection, check: LivenessCheck
    ) throws(FaceEngineError) -> ChallengeFrames {
        var seen: [(face: DetectedFace, in: FaceDetection)?] = []
        for image in images {
            let found = try faceLocations(in: image)
            seen.append(found.faces.first.map { ($0, found) })
        }
        let (refusal, measures) = check.judge(
            seen.map { $0.map { LivenessFrame(face: $0.face, in: $0.in.image) } }, asked: asked)
        guard let measures, refusal != .faceMissing else { return ChallengeFrames(refusal: .faceMissing) }
        var others = [measures.turnedFrame]
        let path = [0, measures.startFrame, measures.frontalFrame, measures.turnedFrame].map { measures.yaw[$0] }
        let (low, high) = (path.min()!, path.max()!)
        let apart = measures.yaw.map { max(low - $0, $0 - high, 0) }
        if let unlike = apart.indices.max(by: { apart[$0] < apart[$1] }), apart[unlike] > LivenessCheck.poseApart {
            others.append(unlike)
        }
        var times = EncodingTimes()
        guard let frontal = seen[measures.frontalFrame],
            let encoding = try faceEncodings(of: [frontal], times: &times).first
        else {
            return ChallengeFrames(refusal: .faceMissing)
        }
        var chips: [RGBImage] = []
        for case (let face, let found)? in others.map({ seen[$0] }) {
            chips.append(try faceChip(for: face, in: found.image))
        }
        return ChallengeFrames(
            refusal: refusal, measures: measures, frontal: encoding,
            others: try quickEmbeddings(of: chips))
    }
}

extension FacePipeline {
    /// Decodes the frames of a challenge and judges them (`FaceRecognizer.challengeFrames`) in one job on an engine's
    /// thread. A frame that is not an image fails the whole request (`ImageDecodingError`).
    public func challengeFrames(
        _ photos: [[UInt8]], asked: TurnDirection, check: LivenessCheck
    ) async throws -> ChallengeFrames {
        try await engines.run { [decoder, timings] engine in
            let started = ContinuousClock.now
            let images = try photos.map { try decoder.decode($0) }
            let decoded = ContinuousClock.now
            timings?.recordStage("decode", duration: decoded - started)
            let frames = try engine.challengeFrames(in: images, asked: asked, check: check)
            timings?.recordStage("faces", duration: ContinuousClock.now - decoded)
            return frames
        }
    }
}
