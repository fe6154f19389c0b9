import FaceEngine
import FaceGateRuntime
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
        let member = try await model.members.existing(
            uuidParameter("id", of: context, what: "member"),
            organization: actor.organizationID
        ).id
        let photos = try await ImageInput.images(
            from: request, context: context, maxBytes: maxImageBytes, maxImages: Self.maxImagesPerRequest)
        if photos.count == 1 {
            return try JSONResponse.encode(
                try await enrol(photos[0], member: member, actor: actor, model: model),
                status: .created)
        }
        var results: [BulkResult] = []
        for (index, photo) in photos.enumerated() {
            do {
                let enrolled = try await enrol(photo, member: member, actor: actor, model: model)
                results.append(
                    BulkResult(
                        index: index, status: 201, faceId: enrolled.faceId, box: enrolled.box,
                        quality: enrolled.quality))
            } catch {
                let problem = Problem(error)
                if problem.status.code >= 500 { throw error }
                results.append(
                    BulkResult(index: index, status: problem.status.code, code: problem.code, detail: problem.detail))
            }
        }
        return try JSONResponse.encode(["results": results], status: .ok)
    }

    private func enrol(
        _ photo: [UInt8], member: UUID, actor: UserStore.Account, model: FaceModelRuntime
    ) async throws -> Enrolled {
        let enrolled = try await Enrolment(model: model.context, sealer: sealer)
            .enrol(photo: photo, member: member, organization: actor.organizationID, enrolledBy: actor.id)
        return Enrolled(faceId: enrolled.faceID, box: BoxView(enrolled.box), quality: enrolled.quality)
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
        let member = try await model.members.existing(
            uuidParameter("id", of: context, what: "member"),
            organization: actor.organizationID
        ).id
        let stored = try await model.faces.faces(of: member, organization: actor.organizationID)
        return try JSONResponse.encode(
            [
                "faces": stored.map {
                    FaceView(faceId: $0.id, box: BoxView($0.box), quality: $0.quality, createdAt: $0.createdAt)
                }
            ],
            status: .ok)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: MembersController.staff)
        let member = try uuidParameter("id", of: context, what: "member")
        let face = try uuidParameter("face_id", of: context, what: "face")
        guard
            try await model.current.gallery.removeFace(
                face, organization: actor.organizationID, member: member, actor: actor.id)
        else {
            throw Problem.notFound("face")
        }
        return Response(status: .noContent)
    }

    /// The aligned face chip (the model's: dlib 150 px, SFace 112 px) as PNG, decrypted on the way out.
    @Sendable func thumbnail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: MembersController.staff)
        let member = try uuidParameter("id", of: context, what: "member")
        let face = try uuidParameter("face_id", of: context, what: "face")
        guard
            let stored = try await model.current.faces.sealedThumbnail(
                face: face, member: member, organization: actor.organizationID)
        else { throw Problem.notFound("face") }
        let png: [UInt8]
        do {
            png = try sealer.open(
                stored.sealed, keyID: stored.keyID,
                for: .init(
                    organization: stored.organization, member: stored.member, photoDigest: stored.photoDigest))
        } catch BiometricSealer.Failure.unknownKey(let keyID) {
            context.logger.error(
                "thumbnail sealed under an unknown key", metadata: ["face": "\(face)", "key_id": "\(keyID)"])
            throw Problem(
                .thumbnailKeyUnknown,
                detail: """
                    this thumbnail is sealed under a key the service does not have (key id \(keyID)); \
                    add that key to BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS
                    """)
        } catch {
            // Not this face's blob (copied from another row) or damaged: the seal refuses it.
            context.logger.error(
                "thumbnail does not open for its face", metadata: ["face": "\(face)", "error": "\(error)"])
            throw Problem(.thumbnailUnreadable)
        }
        return Response(
            status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }
}
