import Crypto
import FaceEngine
import Foundation
import Gallery
import ImageDecoding
import Storage

/// Registers a member's face from a photo: the largest face, if the photo passes the model's enrolment gate (size,
/// sharpness, pose, one face) and the face is not another member's (within the tolerance of the organisation's
/// gallery); stored with its sealed thumbnail and crop (so that another model can embed it again) and its audit
/// entry, then searchable at once.
public struct Enrolment: Sendable {
    let model: ModelContext
    let sealer: BiometricSealer

    public init(model: ModelContext, sealer: BiometricSealer) {
        self.model = model
        self.sealer = sealer
    }

    public struct Enrolled: Sendable {
        public var faceID: UUID
        public var box: FaceBox
        public var quality: [String: Double]
    }

    public func enrol(photo: [UInt8], member: UUID, organization: UUID, enrolledBy: UUID?) async throws -> Enrolled {
        try await store(try await examine(photo), member: member, organization: organization, enrolledBy: enrolledBy)
    }

    /// A photo's face that passed the enrolment gate, embedded, with the crop of the photo around it: what `store`
    /// keeps. The engine's work, which an import runs for many photos at once before storing them in order.
    public struct Examined: Sendable {
        let face: FaceEncoding
        let crop: RGBImage?
        /// SHA-256 of the photo's bytes (stored only as its keyed digest): one face per photo, member and model.
        public let imageSHA256: [UInt8]
    }

    /// Decodes the photo and finds, gates and embeds its largest face on a free engine.
    public func examine(_ photo: [UInt8]) async throws -> Examined {
        // Two faces are enough to tell a group photo.
        let analysis = try await model.pipeline.analyse(photo, limit: 2, withCrop: true)
        let face = try model.gate.check(analysis.faces)
        return Examined(face: face, crop: analysis.crop, imageSHA256: Array(SHA256.hash(data: photo)))
    }

    /// Refuses (`faceBelongsToOtherMember`) a face that matches a member other than `member` within the tolerance of
    /// the organisation's gallery (of `galleryFaces` faces; nil: as many as it holds now); nil `member` is one not
    /// created yet (an import's dry run), whom nothing matches.
    public func checkNotAnotherMembers(
        _ examined: Examined, member: UUID?, organization: UUID, galleryFaces: Int? = nil
    ) async throws {
        let nearest = try await model.gallery.nearestMembers(to: examined.face.embedding, in: organization, limit: 1)
        let faces = if let galleryFaces { galleryFaces } else { try await model.gallery.faceCount(in: organization) }
        let tolerance = model.policy.tolerance(galleryFaces: faces)
        if let other = nearest.first(where: { $0.member != member }), other.distance <= tolerance {
            throw UseCaseError.faceBelongsToOtherMember(distance: other.distance, tolerance: tolerance)
        }
    }

    /// Stores an examined face as the member's, unless it is another member's (`checkNotAnotherMembers`).
    public func store(
        _ examined: Examined, member: UUID, organization: UUID, enrolledBy: UUID?, galleryFaces: Int? = nil
    ) async throws -> Enrolled {
        try await checkNotAnotherMembers(
            examined, member: member, organization: organization, galleryFaces: galleryFaces)
        let face = examined.face
        let quality = face.quality.measures
        let keys = model.faces.templates
        let digest = try keys.photoDigest(of: examined.imageSHA256, organization: organization)
        let owner = BiometricSealer.Owner(organization: organization, member: member, photoDigest: digest.bytes)
        let thumbnail = try sealer.seal(face.chip.pngData(), for: owner)
        let crop = try examined.crop.map { try sealer.seal($0.pngData(), for: owner, as: .crop) }
        let box = face.face.box
        let ref = try await model.gallery.add(
            NewFace(
                organizationID: organization, memberID: member, embedding: face.embedding,
                model: model.space.model, modelVersion: model.space.version, quality: quality,
                box: [box.x, box.y, box.width, box.height], photoDigest: digest,
                earlierPhotoDigests: try keys.photoDigests(of: examined.imageSHA256, organization: organization).map(
                    \.bytes),
                sealedThumbnail: thumbnail.sealed,
                thumbnailKeyID: thumbnail.keyID, sealedCrop: crop?.sealed, cropKeyID: crop?.keyID,
                enrolledBy: enrolledBy))
        return Enrolled(faceID: ref.face, box: box, quality: quality)
    }
}
