import FaceEngine
import Foundation
import Gallery
import Hummingbird
import Storage
import UseCases

/// The photo-in endpoints: `POST /identify` (1:N, no side effect), `POST /checkins` (1:N, recorded),
/// `GET /checkins`, `POST /members/{id}/verify` (1:1) and `POST /detect` (faces only).
struct MatchingController {
    /// Each request uses the model in use when it began, for its probe and for the gallery it searches.
    let model: ActiveFaceModel
    let checkins: CheckinStore
    let dedupSeconds: Int
    let maxImageBytes: Int

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.post("identify", use: identify)
        api.post("checkins", use: checkIn)
        api.get("checkins", use: listCheckins)
        api.post("members/:id/verify", use: verify)
        api.post("detect", use: detect)
    }

    struct MemberSummary: Encodable {
        var id: UUID
        var name: String
        var externalId: String?
    }

    struct FaceSummary: Encodable {
        var box: BoxView
    }

    /// The largest face of the request's photo, embedded: 422 `no_face` when there is none.
    private func largestFace(
        _ request: Request, context: AppRequestContext, model: FaceModelRuntime
    ) async throws -> FaceEncoding {
        let photo = try await ImageInput.images(from: request, context: context, maxBytes: maxImageBytes)[0]
        guard let face = try await model.pipeline.faceEncodings(in: photo, limit: 1).faces.first else {
            throw Problem(.unprocessableContent, code: "no_face", detail: "no face was found in the photo")
        }
        return face
    }

    /// The members among `ids` that exist in the organisation (one query for a page of results).
    private func summaries(
        of ids: [UUID], organization: UUID, members: MemberStore
    ) async throws -> [UUID: MemberSummary] {
        try await members.names(of: Array(Set(ids)), organization: organization).reduce(into: [:]) { result, entry in
            result[entry.key] = MemberSummary(id: entry.key, name: entry.value.name, externalId: entry.value.externalID)
        }
    }

    struct Match: Encodable {
        var member: MemberSummary
        var distance: Float
        var similarity: Float
    }

    @Sendable func identify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let topK = try integerParameter("top_k", of: request, default: 5, in: 1...50)
        let model = model.current
        let face = try await largestFace(request, context: context, model: model)
        let candidates = try await model.gallery.nearestMembers(to: face.embedding, in: actor.organizationID, limit: topK)
        let tolerance = model.policy.tolerance(galleryFaces: try await model.gallery.faceCount(in: actor.organizationID))
        let within = candidates.prefix(topK).filter { $0.distance <= tolerance }
        let names = try await summaries(of: within.map(\.member), organization: actor.organizationID, members: model.members)
        let matches = within.compactMap { candidate in
            names[candidate.member].map { Match(member: $0, distance: candidate.distance, similarity: candidate.similarity) }
        }
        struct Body: Encodable { var matches: [Match]; var face: FaceSummary }
        return try JSONResponse.encode(Body(matches: matches, face: FaceSummary(box: BoxView(face.face.box))), status: .ok)
    }

    struct CheckinView: Encodable {
        var checkinId: UUID
        var member: MemberSummary
        var distance: Float
        var similarity: Float
        var checkedInAt: Date
    }

    @Sendable func checkIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator, .kiosk])
        let model = model.current
        let face = try await largestFace(request, context: context, model: model)
        let candidates = try await model.gallery.nearestMembers(to: face.embedding, in: actor.organizationID, limit: 1)
        let rule = model.policy.rule(galleryFaces: try await model.gallery.faceCount(in: actor.organizationID))
        guard case .match(let best) = rule.decide(candidates),
              let member = try await summaries(of: [best.member], organization: actor.organizationID, members: model.members)[best.member] else {
            throw Problem(.notFound, code: "no_match", detail: "nobody enrolled matches this face")
        }
        let (checkin, created) = try await checkins.record(
            organization: actor.organizationID, member: best.member, face: best.face, distance: best.distance,
            similarity: best.similarity, dedupSeconds: dedupSeconds, recordedBy: actor.id)
        return try JSONResponse.encode(
            CheckinView(checkinId: checkin.id, member: member, distance: checkin.distance, similarity: checkin.similarity,
                        checkedInAt: checkin.checkedInAt),
            status: created ? .created : .ok)
    }

    @Sendable func listCheckins(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let query = request.uri.queryParameters
        let limit = try integerParameter("limit", of: request, default: 50, in: 1...200)
        let member = try query.get("member_id").map { raw in
            guard let id = UUID(uuidString: raw) else { throw Problem.invalidField("member_id", "a member id") }
            return id
        }
        let from = try Self.date(query.get("from"), name: "from"), to = try Self.date(query.get("to"), name: "to")
        let cursor = try query.get("cursor").map(Self.decodeCursor)
        let found = try await checkins.list(
            organization: actor.organizationID, member: member, from: from, to: to, limit: limit + 1, after: cursor)
        let page = Array(found.prefix(limit))
        let names = try await summaries(of: page.map(\.memberID), organization: actor.organizationID, members: model.current.members)
        let views = page.compactMap { checkin in
            names[checkin.memberID].map {
                CheckinView(checkinId: checkin.id, member: $0, distance: checkin.distance,
                            similarity: checkin.similarity, checkedInAt: checkin.checkedInAt)
            }
        }
        struct Page: Encodable { var checkins: [CheckinView]; var nextCursor: String? }
        let next = found.count > limit ? page.last.map { Self.encodeCursor(at: $0.checkedInAt, id: $0.id) } : nil
        return try JSONResponse.encode(Page(checkins: views, nextCursor: next), status: .ok)
    }

    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let model = model.current
        let member = try await model.members.existing(uuidParameter("id", of: context, what: "member"),
                                                      organization: actor.organizationID).id
        let enrolled = try await model.faces.embeddings(of: member, organization: actor.organizationID)
        guard !enrolled.isEmpty else {
            throw Problem(.conflict, code: "no_faces_enrolled", detail: "this member has no enrolled face to compare with")
        }
        let face = try await largestFace(request, context: context, model: model)
        let distance = enrolled.map { faceDistance(face.embedding, $0) }.min()!
        // One claimed identity: the probe is compared with this member's faces only.
        let rule = model.policy.rule(galleryFaces: enrolled.count)
        struct Body: Encodable { var match: Bool; var distance: Float; var similarity: Float; var tolerance: Float }
        return try JSONResponse.encode(
            Body(match: distance <= rule.tolerance, distance: distance, similarity: 1 - distance, tolerance: rule.tolerance),
            status: .ok)
    }

    @Sendable func detect(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.account(in: [.admin, .operator])
        let photo = try await ImageInput.images(from: request, context: context, maxBytes: maxImageBytes)[0]
        let found = try await model.current.pipeline.faceLocations(in: photo)
        struct Landmark: Encodable { var x: Float; var y: Float }
        struct Face: Encodable { var box: BoxView; var landmarks: [Landmark]; var score: Double }
        struct Body: Encodable { var faces: [Face]; var width: Int; var height: Int }
        let faces = found.faces.map { face in
            Face(box: BoxView(face.box), landmarks: face.landmarks.map { Landmark(x: $0.x, y: $0.y) }, score: face.score)
        }
        return try JSONResponse.encode(Body(faces: faces, width: found.width, height: found.height), status: .ok)
    }

    // MARK: - Query parameters

    static func date(_ raw: String?, name: String) throws -> Date? {
        guard let raw else { return nil }
        guard let date = try? Date(raw, strategy: .iso8601) else {
            throw Problem.invalidField(name, "an ISO 8601 date and time, e.g. 2026-11-24T08:00:00Z")
        }
        return date
    }

    /// Check-ins page by time (in microseconds, the database's precision) and id.
    static func encodeCursor(at date: Date, id: UUID) -> String {
        PageCursor.encode(position: String(Int64((date.timeIntervalSince1970 * 1_000_000).rounded())), id: id)
    }

    static func decodeCursor(_ raw: String) throws -> (at: Date, id: UUID) {
        let (position, id) = try PageCursor.decode(raw)
        guard let micros = Int64(position) else {
            throw Problem.invalidField("cursor", "a next_cursor value from a previous page")
        }
        return (Date(timeIntervalSince1970: Double(micros) / 1_000_000), id)
    }
}
