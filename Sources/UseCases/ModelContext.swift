import FaceEngine
import Foundation
import Gallery
import Storage

/// The face model a use case runs with: its pipeline, the gallery and stores of its embedding space, its match policy
/// and enrolment gate. A request takes one and keeps it (a model switch replaces it between requests).
public struct ModelContext: Sendable {
    public let pipeline: FacePipeline
    public let gallery: FaceGallery
    public let members: MemberStore
    public let faces: FaceStore
    public let policy: MatchPolicy
    public let gate: EnrolmentGate

    public init(
        pipeline: FacePipeline, gallery: FaceGallery, members: MemberStore, faces: FaceStore, policy: MatchPolicy,
        gate: EnrolmentGate
    ) {
        self.pipeline = pipeline
        self.gallery = gallery
        self.members = members
        self.faces = faces
        self.policy = policy
        self.gate = gate
    }

    /// What made the faces this model stores and searches.
    public var space: EmbeddingSpace { pipeline.engines.descriptor.space }

    /// The largest face of `photo`, embedded (the one a check-in, identification or verification is about).
    func largestFace(in photo: [UInt8]) async throws -> FaceEncoding {
        guard let face = try await pipeline.analyse(photo, limit: 1).faces.first else {
            throw UseCaseError.noFace
        }
        return face
    }

    /// Names of the members among `ids` that exist in the organisation (one query for a page of results).
    public func memberNames(_ ids: [UUID], organization: UUID) async throws -> [UUID: MemberName] {
        try await members.names(of: Array(Set(ids)), organization: organization).reduce(into: [:]) { result, entry in
            result[entry.key] = MemberName(id: entry.key, name: entry.value.name, externalID: entry.value.externalID)
        }
    }
}

/// A member as a result names it.
public struct MemberName: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var externalID: String?
}

/// What a use case refuses (the HTTP API maps each to its answer in one place).
public enum UseCaseError: Error, Equatable, CustomStringConvertible {
    /// The photo shows no face.
    case noFace
    /// Nobody enrolled matches the face (a stranger, or a member the model does not recognise).
    case noMatch
    /// The face matches another member of the organisation within the tolerance: enrolling it would let either in as
    /// the other.
    case faceBelongsToOtherMember(distance: Float, tolerance: Float)
    /// A 1:1 verification of a member without an enrolled face.
    case noFacesEnrolled
    /// No such member (or face) in the organisation.
    case notFound(String)
    /// A field staff gave (in a request, in a row of an import) breaks its rule: the field's name and what it must be.
    case invalidField(String, String)
    /// The liveness challenge is unknown, expired, used, or another account's.
    case challengeInvalid
    /// The face model's landmarks cannot show a head turn's depth (dlib's five points lie on the eyes and nose).
    case livenessUnavailable

    public var description: String {
        switch self {
        case .noFace: "no face was found in the photo"
        case .noMatch: "nobody enrolled matches this face"
        case .faceBelongsToOtherMember(let distance, let tolerance):
            String(
                format: "this face matches another member (cosine distance %.4f, tolerance %.4f)", distance, tolerance)
        case .noFacesEnrolled: "this member has no enrolled face to compare with"
        case .notFound(let what): "no such \(what)"
        case .invalidField(let name, let rule): "\(name): \(rule)"
        case .challengeInvalid: "this challenge is unknown, expired or used: ask for a new one"
        case .livenessUnavailable:
            "this face model's landmarks cannot judge a head turn: use FACE_MODEL=sface, or set the organisation's liveness to off"
        }
    }
}
