import FaceEngine
import FaceGateRuntime
import Foundation
import Gallery
import Hummingbird
import Storage
import UseCases

/// The photo-in endpoints without a record: `POST /identify` (1:N, no side effect), `POST /members/{id}/verify`
/// (1:1) and `POST /detect` (faces only). Check-ins are `CheckinsController`'s.
struct MatchingController {
    /// Each request uses the model in use when it began, for its probe and for the gallery it searches.
    let model: ActiveFaceModel
    let maxImageBytes: Int

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.post("identify", use: identify)
        api.post("members/:id/verify", use: verify)
        api.post("detect", use: detect)
    }

    struct FaceSummary: Encodable {
        var box: BoxView
    }

    /// The request's photo (the first, if several).
    private func photo(_ request: Request, context: AppRequestContext) async throws -> [UInt8] {
        try await ImageInput.images(from: request, context: context, maxBytes: maxImageBytes)[0]
    }

    struct Match: Encodable {
        var member: MemberSummary
        var distance: Float
        var similarity: Float
    }

    @Sendable func identify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let topK = try integerParameter("top_k", of: request, default: 5, in: 1...50)
        let result = try await Identification(model: model.current.context)
            .identify(photo: try await photo(request, context: context), organization: actor.organizationID, topK: topK)
        let matches = result.matches.map {
            Match(member: MemberSummary($0.member), distance: $0.distance, similarity: $0.similarity)
        }
        struct Body: Encodable {
            var matches: [Match]
            var face: FaceSummary
        }
        return try JSONResponse.encode(
            Body(matches: matches, face: FaceSummary(box: BoxView(result.face))), status: .ok)
    }

    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let member = try uuidParameter("id", of: context, what: "member")
        let verification = Verification(model: model.current.context)
        let enrolled = try await verification.enrolledFaces(of: member, organization: actor.organizationID)
        let result = try await verification.verify(photo: try await photo(request, context: context), against: enrolled)
        struct Body: Encodable {
            var match: Bool
            var distance: Float
            var similarity: Float
            var tolerance: Float
        }
        return try JSONResponse.encode(
            Body(
                match: result.match, distance: result.distance, similarity: result.similarity,
                tolerance: result.tolerance),
            status: .ok)
    }

    @Sendable func detect(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.account(in: [.admin, .operator])
        let found = try await Detection(model: model.current.context)
            .detect(photo: try await photo(request, context: context))
        struct Landmark: Encodable {
            var x: Float
            var y: Float
        }
        struct Face: Encodable {
            var box: BoxView
            var landmarks: [Landmark]
            var score: Double
        }
        struct Body: Encodable {
            var faces: [Face]
            var width: Int
            var height: Int
        }
        let faces = found.faces.map { face in
            Face(
                box: BoxView(face.box), landmarks: face.landmarks.map { Landmark(x: $0.x, y: $0.y) }, score: face.score)
        }
        return try JSONResponse.encode(Body(faces: faces, width: found.width, height: found.height), status: .ok)
    }
}
