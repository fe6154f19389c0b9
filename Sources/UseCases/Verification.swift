import FaceEngine
import Foundation
import Gallery
import Storage

/// 1:1: is the photo's face this member? Compared with the member's faces only (the tolerance for one comparison
/// per face).
public struct Verification: Sendable {
    let model: ModelContext

    public init(model: ModelContext) { self.model = model }

    public struct Result: Sendable {
        public var match: Bool
        public var distance: Float
        public var tolerance: Float
        public var similarity: Float { 1 - distance }
    }

    /// The faces `member` is verified against: checked before the photo is read, so that an unknown member or one
    /// without a face is answered as such whatever the body.
    public func enrolledFaces(of member: UUID, organization: UUID) async throws -> [[Float]] {
        guard try await model.members.find(member, organization: organization) != nil else {
            throw UseCaseError.notFound("member")
        }
        let enrolled = try await model.faces.embeddings(of: member, organization: organization)
        guard !enrolled.isEmpty else { throw UseCaseError.noFacesEnrolled }
        return enrolled
    }

    /// Whether the photo's largest face is the member whose faces are `enrolled` (`enrolledFaces(of:organization:)`).
    public func verify(photo: [UInt8], against enrolled: [[Float]]) async throws -> Result {
        let face = try await model.largestFace(in: photo)
        let distance = enrolled.map { faceDistance(face.embedding, $0) }.min() ?? .infinity
        let rule = model.policy.rule(galleryFaces: enrolled.count)
        return Result(match: distance <= rule.tolerance, distance: distance, tolerance: rule.tolerance)
    }
}
