import Crypto
import FaceEngine
import Foundation
import Gallery
import Hummingbird
import Storage
import UseCases

/// `/api/v1/members/{id}/faces`: enrolment (one photo, or several `image` parts at once), the member's faces, their
/// deletion and their encrypted thumbnails (admins and operators).
struct FacesController {
    /// The model in use when a request began: every face it enrols is made by it.
    let model: ActiveFaceModel
    let sealer: BiometricSealer
    let maxImageBytes: Int

    static let maxImagesPerRequest = 10

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(":id/faces", use: enrol)
        group.get(":id/faces", use: list)
        group.delete(":id/faces/:face_id", use: delete)
        group.get(":id/faces/:face_id/thumbnail", use: thumbnail)
    }

    struct Enrolled: Encodable {
        var faceId: UUID
        var box: BoxView
        var quality: [String: Double]
    }

    struct BulkResult: Encodable {
        var index: Int
        var status: Int
        var faceId: UUID?
        var box: BoxView?
        var quality: [String: Double]?
        var code: String?
        var detail: String?
    }

    @Sendable func enrol(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: MembersController.staff)
        let model = model.current
        let member = try await model.members.existing(uuidParameter("id", of: context, what: "member"),
                                                      organization: actor.organizationID).id
        let photos = try await ImageInput.images(
            from: request, context: context, maxBytes: maxImageBytes, maxImages: Self.maxImagesPerRequest)
        if photos.count == 1 {
            return try JSONResponse.encode(try await enrol(photos[0], member: member, actor: actor, model: model),
                                           status: .created)
        }
        var results: [BulkResult] = []
        for (index, photo) in photos.enumerated() {
            do {
                let enrolled = try await enrol(photo, member: member, actor: actor, model: model)
                results.append(BulkResult(index: index, status: 201, faceId: enrolled.faceId, box: enrolled.box,
                                          quality: enrolled.quality))
            } catch {
                let problem = Problem(error)
                if problem.status.code >= 500 { throw error }
                results.append(BulkResult(index: index, status: problem.status.code, code: problem.code, detail: problem.detail))
            }
        }
        return try JSONResponse.encode(["results": results], status: .ok)
    }

    private func enrol(
        _ photo: [UInt8], member: UUID, actor: UserStore.Account, model: FaceModelRuntime
    ) async throws -> Enrolled {
        let organization = actor.organizationID
        // Two faces are enough to tell a group photo.
        let analysis = try await model.pipeline.faceEncodings(in: photo, limit: 2, withCrop: true)
        let face = try model.gate.check(analysis.faces)
        let nearest = try await model.gallery.nearestMembers(to: face.embedding, in: organization, limit: 1)
        let tolerance = model.policy.tolerance(galleryFaces: try await model.gallery.faceCount(in: organization))
        if let other = nearest.first(where: { $0.member != member }), other.distance <= tolerance {
            throw Problem(.conflict, code: "face_belongs_to_other_member", detail: String(format:
                "this face matches another member (cosine distance %.4f, tolerance %.4f)", other.distance, tolerance))
        }
        let quality = face.quality.measures
        let imageSHA256 = Array(SHA256.hash(data: photo))
        let owner = BiometricSealer.Owner(organization: organization, member: member, imageSHA256: imageSHA256)
        let thumbnail = try sealer.seal(face.chip.pngData(), for: owner)
        let crop = try analysis.crop.map { try sealer.seal($0.pngData(), for: owner, as: .crop) }
        let ref = try await model.gallery.add(NewFace(
            organizationID: organization, memberID: member, embedding: face.embedding,
            model: model.space.model, modelVersion: model.space.version, quality: quality, box: face.face.box.asArray,
            imageSHA256: imageSHA256, sealedThumbnail: thumbnail.sealed, thumbnailKeyID: thumbnail.keyID,
            sealedCrop: crop?.sealed, cropKeyID: crop?.keyID,
            enrolledBy: actor.id))
        return Enrolled(faceId: ref.face, box: BoxView(face.face.box), quality: quality)
    }

    struct FaceView: Encodable {
        var faceId: UUID
        var box: BoxView?
        var quality: [String: Double]
        var createdAt: Date
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: MembersController.staff)
        let model = model.current
        let member = try await model.members.existing(uuidParameter("id", of: context, what: "member"),
                                                      organization: actor.organizationID).id
        let stored = try await model.faces.faces(of: member, organization: actor.organizationID)
        return try JSONResponse.encode(
            ["faces": stored.map { FaceView(faceId: $0.id, box: BoxView($0.box), quality: $0.quality, createdAt: $0.createdAt) }],
            status: .ok)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: MembersController.staff)
        let member = try uuidParameter("id", of: context, what: "member")
        let face = try uuidParameter("face_id", of: context, what: "face")
        guard try await model.current.gallery.removeFace(
            face, organization: actor.organizationID, member: member, actor: actor.id) else {
            throw Problem.notFound("face")
        }
        return Response(status: .noContent)
    }

    /// The aligned face chip (the model's: dlib 150 px, SFace 112 px) as PNG, decrypted on the way out.
    @Sendable func thumbnail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: MembersController.staff)
        let member = try uuidParameter("id", of: context, what: "member")
        let face = try uuidParameter("face_id", of: context, what: "face")
        guard let stored = try await model.current.faces.sealedThumbnail(face: face, member: member, organization: actor.organizationID)
        else { throw Problem.notFound("face") }
        let png: [UInt8]
        do {
            png = try sealer.open(stored.sealed, keyID: stored.keyID, for: .init(
                organization: stored.organization, member: stored.member, imageSHA256: stored.imageSHA256))
        } catch BiometricSealer.Failure.unknownKey(let keyID) {
            context.logger.error("thumbnail sealed under an unknown key", metadata: ["face": "\(face)", "key_id": "\(keyID)"])
            throw Problem(.conflict, code: "thumbnail_key_unknown", detail: """
                this thumbnail is sealed under a key the service does not have (key id \(keyID)); \
                add that key to BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS
                """)
        } catch {
            // Not this face's blob (copied from another row) or damaged: the seal refuses it.
            context.logger.error("thumbnail does not open for its face", metadata: ["face": "\(face)", "error": "\(error)"])
            throw Problem(.conflict, code: "thumbnail_unreadable",
                          detail: "this face's stored thumbnail does not open for this face (moved or damaged)")
        }
        return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }
}
