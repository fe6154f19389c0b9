import Foundation
import Gallery
import Storage

/// Erases a member for good: the member, every face of every model (embeddings, thumbnails, crops) and the erasure's
/// audit entry in one transaction; then gone from every instance's gallery.
public struct MemberErasure: Sendable {
    let gallery: FaceGallery

    public init(gallery: FaceGallery) { self.gallery = gallery }

    /// False when there is no such member in the organisation.
    public func erase(member: UUID, organization: UUID, actor: UUID?) async throws -> Bool {
        try await gallery.removeMember(member, organization: organization, actor: actor)
    }
}
