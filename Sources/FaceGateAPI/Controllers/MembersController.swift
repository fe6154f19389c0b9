import FaceGateRuntime
import Foundation
import Gallery
import Hummingbird
import Storage
import UseCases

/// `/api/v1/members`: the people whose faces are enrolled (admins and operators, within their organisation).
struct MembersController {
    /// Its stores count the faces of the model in use.
    let model: ActiveFaceModel
    /// For a member's own data.
    let checkins: CheckinStore
    let pins: PINHashing
    var members: MemberStore { model.current.members }

    static let staff: Set<Role> = [.admin, .operator]

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: show)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
        group.get(":id/export", use: export)
    }

    struct Fields: Decodable {
        var name: String?
        var externalId: String?
        var email: String?
        var metadata: JSONValue?
        var status: String?
        /// Absent: left as it is; `null`: the membership no longer ends; a date: its last day.
        var validUntil: String??
        /// Write-only. Absent: left as it is; `null`: no PIN; digits: the new PIN (which also lifts a lock).
        var pin: String??
        /// `false` lifts a PIN lock (staff, after checking who is asking).
        var pinLocked: Bool?
        enum CodingKeys: String, CodingKey {
            case name, email, metadata, status, pin, externalId = "external_id", validUntil = "valid_until",
                pinLocked = "pin_locked"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = MemberFields.trimmed(try container.decodeIfPresent(String.self, forKey: .name))
            externalId = try container.decodeIfPresent(String.self, forKey: .externalId)
            email = MemberFields.trimmed(try container.decodeIfPresent(String.self, forKey: .email))
            metadata = try container.decodeIfPresent(JSONValue.self, forKey: .metadata)
            status = MemberFields.trimmed(try container.decodeIfPresent(String.self, forKey: .status))
            validUntil =
                container.contains(.validUntil)
                ? .some(MemberFields.trimmed(try container.decodeIfPresent(String.self, forKey: .validUntil))) : nil
            pin = container.contains(.pin) ? .some(try container.decodeIfPresent(String.self, forKey: .pin)) : nil
            pinLocked = try container.decodeIfPresent(Bool.self, forKey: .pinLocked)
        }

        /// The rules every member's fields follow, the import's rows too (`MemberFields`): 400 `invalid_field`.
        func validate(requireName: Bool) throws {
            try MemberFields(
                name: name, externalID: externalId, email: email, metadata: metadata?.text, status: status,
                validUntil: validUntil ?? nil
            )
            .validate(requireName: requireName)
            if let pin = pin ?? nil, !PIN.isWellFormed(pin) { throw Problem.invalidField("pin", PIN.rule) }
            if pinLocked == true { throw Problem.invalidField("pin_locked", "only false, to unlock the PIN") }
        }

        /// The new PIN's hash: nil when not given, `.some(nil)` to remove it.
        func pinHash(_ pins: PINHashing) async throws -> String?? {
            guard let pin else { return nil }
            guard let pin else { return .some(nil) }
            return .some(try await pins.hash(pin))
        }
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: Self.staff)
        let body = try await request.decodeJSON(as: Fields.self, context: context)
        try body.validate(requireName: true)
        let id = try await members.create(
            organization: actor.organizationID, name: body.name!,
            externalID: body.externalId, email: body.email, metadata: body.metadata?.text ?? "{}",
            status: body.status ?? MembershipStatus.active.rawValue, validUntil: body.validUntil ?? nil,
            pinHash: try await body.pinHash(pins) ?? nil, auditedBy: actor.id)
        return try JSONResponse.encode(
            MemberView(try await members.existing(id, organization: actor.organizationID)),
            status: .created)
    }

    struct Page: Encodable {
        var members: [MemberView]
        var nextCursor: String?
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: Self.staff)
        let query = request.uri.queryParameters
        let limit = try integerParameter("limit", of: request, default: 50, in: 1...200)
        let q = query.get("q").flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        let cursor = try query.get("cursor").map(PageCursor.decode).map { (name: $0.position, id: $0.id) }
        let found = try await members.list(
            organization: actor.organizationID, matching: q, limit: limit + 1, after: cursor)
        let page = Array(found.prefix(limit))
        let next =
            found.count > limit ? page.last.map { PageCursor.encode(position: $0.name.lowercased(), id: $0.id) } : nil
        return try JSONResponse.encode(Page(members: page.map(MemberView.init), nextCursor: next), status: .ok)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: Self.staff)
        let member = try await members.existing(
            uuidParameter("id", of: context, what: "member"),
            organization: actor.organizationID)
        return try JSONResponse.encode(MemberView(member), status: .ok)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: Self.staff)
        let id = try uuidParameter("id", of: context, what: "member")
        let body = try await request.decodeJSON(as: Fields.self, context: context)
        try body.validate(requireName: false)
        guard
            let member = try await members.update(
                id, organization: actor.organizationID, name: body.name,
                externalID: body.externalId, email: body.email, metadata: body.metadata?.text, status: body.status,
                validUntil: body.validUntil, pinHash: try await body.pinHash(pins), unlockPIN: body.pinLocked == false,
                actor: actor.id)
        else { throw Problem.notFound("member") }
        return try JSONResponse.encode(MemberView(member), status: .ok)
    }

    /// Erases the member and all its biometric data for good (faces, embeddings, thumbnails), from the database and
    /// every instance's index; the erasure is in the audit log.
    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: Self.staff)
        let id = try uuidParameter("id", of: context, what: "member")
        guard
            try await MemberErasure(gallery: model.current.gallery)
                .erase(member: id, organization: actor.organizationID, actor: actor.id)
        else {
            throw Problem.notFound("member")
        }
        return Response(status: .noContent)
    }

    /// The member's own data as one JSON document to download (`MemberDataDocument`: record, faces without templates,
    /// check-ins, audit entries), for their access and portability requests; admins only, and audited.
    @Sendable func export(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "member")
        let data = try await MemberDataExport(members: members, checkins: checkins)
            .export(member: id, organization: actor.organizationID, actor: actor.id)
        let document = try MemberDataDocument.encode(data)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/json",
                .contentDisposition: "attachment; filename=\"member-\(id.uuidString.lowercased()).json\"",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: document)))
    }
}
