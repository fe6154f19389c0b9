import FaceEngine
import Foundation
import Gallery
import Storage

/// 1:N without side effect: the members whose nearest face is within the tolerance derived for the organisation's
/// gallery, nearest first.
public struct Identification: Sendable {
    let model: ModelContext

    public init(model: ModelContext) { self.model = model }

    public struct Match: Sendable {
        public var member: MemberName
        public var distance: Float
        public var similarity: Float
    }

    public struct Result: Sendable {
        public var matches: [Match]
        /// The face identified (the photo's largest).
        public var face: FaceBox
    }

    public func identify(photo: [UInt8], organization: UUID, topK: Int) async throws -> Result {
        let face = try await model.largestFace(in: photo)
        let candidates = try await model.gallery.nearestMembers(to: face.embedding, in: organization, limit: topK)
        let tolerance = model.policy.tolerance(galleryFaces: try await model.gallery.faceCount(in: organization))
        let within = candidates.prefix(topK).filter { $0.distance <= tolerance }
        let names = try await model.memberNames(within.map(\.member), organization: organization)
        let matches = within.compactMap { candidate in
            names[candidate.member].map {
                Match(member: $0, distance: candidate.distance, similarity: candidate.similarity)
            }
        }
        return Result(matches: matches, face: face.face.box)
    }
}
