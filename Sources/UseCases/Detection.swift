import FaceEngine

/// Faces only: boxes, landmarks and scores, nothing embedded or stored.
public struct Detection: Sendable {
    let model: ModelContext

    public init(model: ModelContext) { self.model = model }

    public func detect(photo: [UInt8]) async throws -> (width: Int, height: Int, faces: [DetectedFace]) {
        try await model.pipeline.faceLocations(in: photo)
    }
}
