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
        api.get("checkins/export", use: exportCheckins)
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

    func summary(_ member: MemberName) -> MemberSummary {
        MemberSummary(id: member.id, name: member.name, externalId: member.externalID)
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
            Match(member: summary($0.member), distance: $0.distance, similarity: $0.similarity)
        }
        struct Body: Encodable { var matches: [Match]; var face: FaceSummary }
        return try JSONResponse.encode(Body(matches: matches, face: FaceSummary(box: BoxView(result.face))), status: .ok)
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
        let result = try await CheckIn(model: model.current.context, checkins: checkins, dedupSeconds: dedupSeconds)
            .checkIn(photo: try await photo(request, context: context), organization: actor.organizationID,
                     recordedBy: actor.id)
        let checkin = result.checkin
        return try JSONResponse.encode(
            CheckinView(checkinId: checkin.id, member: summary(result.member), distance: checkin.distance,
                        similarity: checkin.similarity, checkedInAt: checkin.checkedInAt),
            status: result.created ? .created : .ok)
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
        let names = try await model.current.context.memberNames(page.map(\.memberID), organization: actor.organizationID)
        let views = page.compactMap { checkin in
            names[checkin.memberID].map {
                CheckinView(checkinId: checkin.id, member: summary($0), distance: checkin.distance,
                            similarity: checkin.similarity, checkedInAt: checkin.checkedInAt)
            }
        }
        struct Page: Encodable { var checkins: [CheckinView]; var nextCursor: String? }
        let next = found.count > limit ? page.last.map { Self.encodeCursor(at: $0.checkedInAt, id: $0.id) } : nil
        return try JSONResponse.encode(Page(checkins: views, nextCursor: next), status: .ok)
    }

    /// The organisation's check-ins within [from, to), oldest first, for billing and attendance: CSV (default) or
    /// JSON Lines (`CheckinExport`), sent as they are read from the database (any number, in constant memory). The
    /// query starts before the answer does, so that a database outage is still a 503.
    @Sendable func exportCheckins(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let query = request.uri.queryParameters
        let from = try Self.date(query.get("from"), name: "from"), to = try Self.date(query.get("to"), name: "to")
        let format = try query.get("format").map { (raw: String) throws -> ExportFormat in
            guard let format = ExportFormat(rawValue: raw) else { throw Problem.invalidField("format", "csv or jsonl") }
            return format
        } ?? .csv
        let rows = try await checkins.exportRows(organization: actor.organizationID, from: from, to: to)
        let body = ResponseBody { writer in
            var buffer = ByteBuffer(string: CheckinExport.head(format))
            for try await row in rows {
                buffer.writeString(CheckinExport.line(row, format))
                if buffer.readableBytes >= 1 << 16 {
                    try await writer.write(buffer)
                    buffer = ByteBuffer()
                }
            }
            try await writer.write(buffer)
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: format.contentType,
                      .contentDisposition: "attachment; filename=\"checkins.\(format.rawValue)\""],
            body: body)
    }

    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let member = try uuidParameter("id", of: context, what: "member")
        let verification = Verification(model: model.current.context)
        let enrolled = try await verification.enrolledFaces(of: member, organization: actor.organizationID)
        let result = try await verification.verify(photo: try await photo(request, context: context), against: enrolled)
        struct Body: Encodable { var match: Bool; var distance: Float; var similarity: Float; var tolerance: Float }
        return try JSONResponse.encode(
            Body(match: result.match, distance: result.distance, similarity: result.similarity, tolerance: result.tolerance),
            status: .ok)
    }

    @Sendable func detect(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.account(in: [.admin, .operator])
        let found = try await Detection(model: model.current.context)
            .detect(photo: try await photo(request, context: context))
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
