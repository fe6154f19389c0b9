import FaceGateRuntime
import Foundation
import Gallery
import Hummingbird
import Liveness
import Logging
import Storage
import UseCases

/// `/api/v1/checkins`: the front desk. `POST` checks a member in by face (kiosk, operator, admin), by member number
/// and face (`member_code`), or by staff's hand (`{"member_id", "reason"}`, operator, admin); a face in the PIN band
/// answers 202 `needs_confirmation` and `POST /checkins/confirmations/{id}` takes the PIN. A kiosk of an
/// organisation whose `liveness` is `challenge` checks in with the frames of a head turn: `POST
/// /checkins/challenges` gives the turn, and the check-in carries its `challenge_id` and 2–8 frames. Every attempt, admitted or
/// refused, goes on the attempt record (`GET /checkins/attempts`) and into `facegate_checkin_attempts_total`. `GET`
/// lists and exports the check-ins.
struct CheckinsController {
    /// Each request uses the model in use when it began, for its probe and for the gallery it searches.
    let model: ActiveFaceModel
    let checkins: CheckinStore
    let confirmations: CheckinConfirmationStore
    let challenges: CheckinChallengeStore
    let organizations: OrganizationStore
    let pins: PINHashing
    let liveness: LivenessCheck
    let attempts: AttemptLog
    /// Tries per member number (a number guessed with a face that is not its member's).
    let codeLimiter: TokenBucketLimiter
    let dedupSeconds: Int
    let maxImageBytes: Int
    /// The organisations' validation calls, asked before a recognised member is checked in.
    let validator: (any CheckinValidator)?

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.post("checkins", use: checkIn)
        api.post("checkins/challenges", use: challenge)
        api.post("checkins/confirmations/:id", use: confirm)
        api.get("checkins", use: listCheckins)
        api.get("checkins/export", use: exportCheckins)
        api.get("checkins/attempts", use: listAttempts)
    }

    struct CheckinView: Encodable {
        var checkinId: UUID
        var member: MemberSummary
        /// Nil for a manual check-in.
        var distance: Float?
        var similarity: Float?
        var checkedInAt: Date
        var method: String

        init(_ checkin: CheckinStore.Checkin, member: MemberSummary) {
            checkinId = checkin.id
            self.member = member
            distance = checkin.distance
            similarity = checkin.similarity
            checkedInAt = checkin.checkedInAt
            method = checkin.method
        }
    }

    /// What a `POST /checkins` asks for.
    enum Asked: Sendable {
        case face(photo: [UInt8])
        case code(photo: [UInt8], code: String)
        /// The frames of a liveness challenge, with or without a member number.
        case challenge(frames: [[UInt8]], challenge: UUID, code: String?)
        case manual(member: UUID, reason: String)

        var method: CheckinMethod {
            switch self {
            case .face: .face
            case .code: .codeFace
            case .challenge(_, _, let code): code == nil ? .face : .codeFace
            case .manual: .manual
            }
        }
    }

    var useCase: CheckIn {
        CheckIn(
            model: model.current.context, checkins: checkins, confirmations: confirmations, challenges: challenges,
            pins: pins, liveness: liveness, dedupSeconds: dedupSeconds, validator: validator)
    }

    /// `POST /checkins/challenges`: a liveness challenge for this account, 201 `{challenge_id, turn, expires_in}`.
    @Sendable func challenge(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator, .kiosk])
        let (id, turn) = try await useCase.challenge(organization: actor.organizationID, account: actor.id)
        struct Body: Encodable {
            var challengeId: UUID
            var turn: String
            var expiresIn: Int
        }
        return try JSONResponse.encode(
            Body(challengeId: id, turn: turn.rawValue, expiresIn: CheckIn.challengeSeconds), status: .created)
    }

    /// 422 `liveness_required` for a kiosk's single photo while its organisation asks for a head turn: operators and
    /// admins at a staffed desk may still post one.
    private func requireChallenge(of actor: UserStore.Account, for asked: Asked) async throws {
        switch asked {
        case .face, .code:
            guard Role(rawValue: actor.role) == .kiosk,
                try await organizations.liveness(of: actor.organizationID) != .off
            else { return }
            throw Problem(.livenessRequired)
        case .challenge, .manual: return
        }
    }

    @Sendable func checkIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator, .kiosk])
        var attempt = AttemptLog.Attempt(organization: actor.organizationID, account: actor.id, method: .face)
        let useCase = self.useCase
        let outcome: CheckIn.Outcome
        do {
            let asked = try await read(request, context: context)
            attempt.method = asked.method
            try await requireChallenge(of: actor, for: asked)
            switch asked {
            case .face(let photo):
                outcome = try await useCase.checkIn(
                    photo: photo, organization: actor.organizationID, recordedBy: actor.id)
            case .code(let photo, let code):
                let decision = codeLimiter.take("\(actor.organizationID)|\(code)")
                guard decision.allowed else { throw Problem.rateLimited(decision, what: "tries of this member number") }
                outcome = try await useCase.checkIn(
                    photo: photo, code: code, organization: actor.organizationID, recordedBy: actor.id)
            case .challenge(let frames, let challenge, let code):
                if let code {
                    let decision = codeLimiter.take("\(actor.organizationID)|\(code)")
                    guard decision.allowed else {
                        throw Problem.rateLimited(decision, what: "tries of this member number")
                    }
                }
                outcome = try await useCase.checkIn(
                    frames: frames, challenge: challenge, code: code, organization: actor.organizationID,
                    account: actor.id)
            case .manual(let member, let reason):
                guard Role(rawValue: actor.role) != .kiosk else {
                    throw Problem(.forbidden, detail: "only staff (admin, operator) check members in by hand")
                }
                attempt.reason = reason
                outcome = try await useCase.checkInByStaff(
                    member: member, reason: reason, organization: actor.organizationID, staff: actor.id)
            }
        } catch {
            await attempts.record(attempt, failure: error, logger: context.logger)
            throw error
        }
        return try await answer(outcome, attempt: attempt, context: context)
    }

    /// `POST /checkins/confirmations/{id}` with `{"pin"}`: the PIN for a check-in that answered 202
    /// `needs_confirmation`, by the same account. 201 `face_pin` for the candidate whose PIN it is; 403 `wrong_pin`
    /// with `attempts_left`; 404 once it is unknown, expired, used up or another account's.
    @Sendable func confirm(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator, .kiosk])
        let attempt = AttemptLog.Attempt(organization: actor.organizationID, account: actor.id, method: .facePIN)
        let outcome: CheckIn.Outcome
        do {
            let id = try uuidParameter("id", of: context, what: "confirmation")
            struct Body: Decodable { var pin: String }
            let pin = try await request.decodeJSON(as: Body.self, context: context).pin
            guard PIN.isWellFormed(pin) else { throw Problem.invalidField("pin", PIN.rule) }
            outcome = try await useCase.confirm(id, pin: pin, organization: actor.organizationID, account: actor.id)
        } catch {
            await attempts.record(attempt, failure: error, logger: context.logger)
            throw error
        }
        return try await answer(outcome, attempt: attempt, context: context)
    }

    /// The answer to a check-in's outcome, put on the attempt record.
    private func answer(
        _ outcome: CheckIn.Outcome, attempt: AttemptLog.Attempt, context: AppRequestContext
    ) async throws -> Response {
        var attempt = attempt
        switch outcome {
        case .checkedIn(let result):
            if let asked = result.validation.result { attempts.metrics.recordCheckinValidation(result: asked) }
            if let reason = result.validation.attemptReason { attempt.reason = reason }
            await attempts.record(
                attempt, outcome: result.created ? "checked_in" : "repeat", member: result.member.id,
                distance: result.checkin.distance, checkin: result.checkin.id, logger: context.logger)
            return try JSONResponse.encode(
                CheckinView(result.checkin, member: MemberSummary(result.member)),
                status: result.created ? .created : .ok)
        case .noMatch(let nearest):
            let problem = Problem(UseCaseError.noMatch)
            await attempts.record(
                attempt, outcome: problem.code, member: nearest?.member, distance: nearest?.distance,
                logger: context.logger)
            throw problem
        case .membershipInactive(let member, let reason, let distance):
            attempt.reason = reason.rawValue
            await attempts.record(
                attempt, outcome: ErrorCode.membershipInactive.name, member: member.id, distance: distance,
                logger: context.logger)
            throw Problem.membershipInactive(member, reason: reason)
        case .needsConfirmation(let id, let candidates):
            await attempts.record(
                attempt, outcome: "needs_confirmation", member: candidates.first?.member,
                distance: candidates.first?.distance, logger: context.logger)
            struct Body: Encodable {
                var code: String
                var confirmationId: UUID
                var expiresIn: Int
                var method: String
            }
            return try JSONResponse.encode(
                Body(
                    code: "needs_confirmation", confirmationId: id, expiresIn: CheckIn.confirmationSeconds,
                    method: "pin"),
                status: .accepted)
        case .wrongPIN(let left, let candidates):
            await attempts.record(
                attempt, outcome: ErrorCode.wrongPIN.name, member: candidates.first, logger: context.logger)
            let detail =
                left > 0
                ? "that PIN is not right: \(left) more tries" : "that PIN is not right: please see the front desk"
            throw Problem(.wrongPIN, detail: detail, extensions: ["attempts_left": .number(Double(left))])
        case .pinAmbiguous(let candidates):
            await attempts.record(
                attempt, outcome: ErrorCode.pinAmbiguous.name, member: candidates.first, logger: context.logger)
            throw Problem(.pinAmbiguous)
        case .refusedByValidator(let member, let validation, let distance):
            let problem = Problem.refusedByValidator(member, validation)
            if let asked = validation.result { attempts.metrics.recordCheckinValidation(result: asked) }
            attempt.reason = validation.attemptReason
            await attempts.record(
                attempt, outcome: problem.code, member: member.id, distance: distance,
                logger: context.logger)
            throw problem
        case .livenessFailed(let refusal, let measures):
            attempt.reason = refusal.rawValue
            if let m = measures {
                context.logger.info(
                    "liveness refused",
                    metadata: [
                        "reason": "\(refusal.rawValue)", "turn": "\(m.turn.rounded())",
                        "opposite_turn": "\(m.oppositeTurn.rounded())",
                        "sheet_turn": "\(m.sheetTurn.rounded())", "yaw": "\(m.yaw.map { $0.rounded() })",
                        "parallax": "\((m.parallax * 1000).rounded() / 1000)",
                        "expected_parallax": "\((m.expectedParallax * 1000).rounded() / 1000)",
                        "step_share": "\((m.stepShare * 100).rounded() / 100)",
                    ])
            }
            attempts.metrics.recordLivenessRefusal(reason: refusal.rawValue)
            await attempts.record(attempt, outcome: ErrorCode.livenessFailed.name, logger: context.logger)
            throw Problem.livenessFailed(refusal)
        }
    }

    /// The check-in asked for: a photo (raw, multipart or JSON `image_base64`) with or without a `member_code` (JSON
    /// field, multipart field or query parameter), or JSON `{"member_id", "reason"}`.
    private func read(_ request: Request, context: AppRequestContext) async throws -> Asked {
        let contentType = request.headers[.contentType] ?? ""
        // `?member_code=` goes with every body style; a field in the body wins.
        let query = request.uri.queryParameters.get("member_code")
        guard ImageInput.mediaType(of: contentType) == "application/json" else {
            let (images, fields) = try await ImageInput.imagesAndFields(
                from: request, context: context, maxBytes: maxImageBytes,
                maxImages: CheckIn.challengeFrameCounts.upperBound,
                fields: ["member_code", "challenge_id"])
            return try Self.photos(images, challenge: fields["challenge_id"], code: fields["member_code"] ?? query)
        }
        let body = try await ImageInput.collect(
            request, upTo: ImageInput.bodyLimit(contentType: contentType, maxBytes: maxImageBytes) ?? 0)
        // Parsing and decoding up to 14 MB of text is CPU work that grows with the body: not on the shared executor.
        return try await ImageInput.offSharedExecutor { [maxImageBytes] in
            let payload = try ImageInput.payload(ofJSON: body)
            guard let memberID = payload.member_id else {
                if let frames = payload.images_base64 {
                    guard payload.image_base64 == nil else {
                        throw Problem.invalidField("image_base64", "a challenge's frames go in images_base64 alone")
                    }
                    guard frames.count <= CheckIn.challengeFrameCounts.upperBound else {
                        throw Problem(
                            .tooManyImages,
                            detail: "at most \(CheckIn.challengeFrameCounts.upperBound) images per request")
                    }
                    return try Self.photos(
                        try frames.map { try ImageInput.image(base64: $0, maxBytes: maxImageBytes) },
                        challenge: payload.challenge_id, code: payload.member_code ?? query)
                }
                return try Self.photos(
                    [try ImageInput.image(base64: payload.image_base64, maxBytes: maxImageBytes)],
                    challenge: payload.challenge_id, code: payload.member_code ?? query)
            }
            guard payload.image_base64 == nil, payload.images_base64 == nil, payload.challenge_id == nil else {
                throw Problem.invalidField("member_id", "a staff check-in (member_id, reason) carries no photo")
            }
            guard let member = UUID(uuidString: memberID) else {
                throw Problem.invalidField("member_id", "a member id")
            }
            guard let reason = payload.reason else {
                throw Problem.invalidField("reason", "1 to 500 characters: why staff checked the member in")
            }
            return .manual(member: member, reason: reason)
        }
    }

    /// A photo, or with a challenge its frames; 1:N, or 1:1 with the member number given.
    static func photos(_ photos: [[UInt8]], challenge: String?, code: String?) throws -> Asked {
        let code = try code.map { code in
            let trimmed = code.trimmingCharacters(in: .whitespaces)
            guard (1...200).contains(trimmed.unicodeScalars.count) else {
                throw Problem.invalidField("member_code", "the member's number (external id), 1 to 200 characters")
            }
            return trimmed
        }
        guard let challenge else {
            guard photos.count == 1 else {
                throw Problem(
                    .tooManyImages, detail: "one photo per check-in; the frames of a head turn go with a challenge_id")
            }
            return code.map { .code(photo: photos[0], code: $0) } ?? .face(photo: photos[0])
        }
        guard let id = UUID(uuidString: challenge.trimmingCharacters(in: .whitespaces)) else {
            throw Problem.invalidField("challenge_id", "the challenge_id of POST /checkins/challenges")
        }
        guard CheckIn.challengeFrameCounts.contains(photos.count) else {
            throw Problem.invalidField(
                "image",
                "\(CheckIn.challengeFrameCounts.lowerBound) to \(CheckIn.challengeFrameCounts.upperBound) frames of the head turn, in capture order"
            )
        }
        return .challenge(frames: photos, challenge: id, code: code)
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
        let names = try await model.current.context.memberNames(
            page.map(\.memberID), organization: actor.organizationID)
        let views = page.compactMap { checkin in
            names[checkin.memberID].map { CheckinView(checkin, member: MemberSummary($0)) }
        }
        struct Page: Encodable {
            var checkins: [CheckinView]
            var nextCursor: String?
        }
        let next = found.count > limit ? page.last.map { Self.encodeCursor(at: $0.checkedInAt, id: $0.id) } : nil
        return try JSONResponse.encode(Page(checkins: views, nextCursor: next), status: .ok)
    }

    struct AttemptView: Encodable {
        var id: UUID
        var occurredAt: Date
        var accountId: UUID?
        var method: String
        var outcome: String
        var member: MemberSummary?
        var distance: Float?
        var reason: String?
        var checkinId: UUID?

        init(_ attempt: CheckinAttemptStore.Attempt) {
            id = attempt.id
            occurredAt = attempt.occurredAt
            accountId = attempt.account
            method = attempt.method
            outcome = attempt.outcome
            member = attempt.member.flatMap { id in
                attempt.memberName.map { MemberSummary(id: id, name: $0, externalId: attempt.memberExternalID) }
            }
            distance = attempt.distance
            reason = attempt.reason
            checkinId = attempt.checkin
        }
    }

    /// The attempt record, newest first: within [from, to), of one `outcome` if given (admin, operator).
    @Sendable func listAttempts(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let query = request.uri.queryParameters
        let limit = try integerParameter("limit", of: request, default: 50, in: 1...200)
        let from = try Self.date(query.get("from"), name: "from"), to = try Self.date(query.get("to"), name: "to")
        let outcome = try query.get("outcome").map { raw in
            guard (1...80).contains(raw.count) else { throw Problem.invalidField("outcome", "an outcome code") }
            return raw
        }
        let cursor = try query.get("cursor").map(Self.decodeCursor)
        let found = try await attempts.store.list(
            organization: actor.organizationID, from: from, to: to, outcome: outcome, limit: limit + 1, after: cursor)
        let page = Array(found.prefix(limit))
        struct Page: Encodable {
            var attempts: [AttemptView]
            var nextCursor: String?
        }
        let next = found.count > limit ? page.last.map { Self.encodeCursor(at: $0.occurredAt, id: $0.id) } : nil
        return try JSONResponse.encode(Page(attempts: page.map(AttemptView.init), nextCursor: next), status: .ok)
    }

    /// The organisation's check-ins within [from, to), oldest first, for billing and attendance: CSV (default) or
    /// JSON Lines (`CheckinExport`), sent as they are read from the database (any number, in constant memory). The
    /// query starts before the answer does, so that a database outage is still a 503.
    @Sendable func exportCheckins(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin, .operator])
        let query = request.uri.queryParameters
        let from = try Self.date(query.get("from"), name: "from"), to = try Self.date(query.get("to"), name: "to")
        let format =
            try query.get("format").map { (raw: String) throws -> ExportFormat in
                guard let format = ExportFormat(rawValue: raw) else {
                    throw Problem.invalidField("format", "csv or jsonl")
                }
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
            headers: [
                .contentType: format.contentType,
                .contentDisposition: "attachment; filename=\"checkins.\(format.rawValue)\"",
            ],
            body: body)
    }

    // MARK: - Query parameters

    static func date(_ raw: String?, name: String) throws -> Date? {
        guard let raw else { return nil }
        guard let date = try? Date(raw, strategy: .iso8601) else {
            throw Problem.invalidField(name, "an ISO 8601 date and time, e.g. 2026-11-24T08:00:00Z")
        }
        return date
    }

    /// Check-ins and attempts page by time (in microseconds, the database's precision) and id.
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

extension Problem {
    /// 422 `liveness_failed` with the `reason` (`LivenessRefusal`) and what to do, in plain words.
    static func livenessFailed(_ refusal: LivenessRefusal) -> Problem {
        let detail =
            switch refusal {
            case .noTurn: "the head did not turn far enough: please turn your head slowly the way you are asked"
            case .wrongDirection: "the head turned the other way: please turn the way you are asked"
            case .flatFace: "this did not move like a real face turning: please try again, or see the front desk"
            case .notContinuous: "the frames do not follow each other: please turn slowly and keep your face in view"
            case .differentPeople: "the frames show more than one person: one person at a time, please"
            case .faceMissing: "a frame shows no face: please keep your face in the picture"
            }
        return Problem(
            .livenessFailed, detail: detail,
            extensions: ["reason": .string(refusal.rawValue)])
    }

    /// 403 `checkin_refused_by_validator`: the organisation's own software refused the recognised member (its
    /// `message`, shown on the kiosk), or gave no answer and CHECKIN_VALIDATION_ON_ERROR is `refuse`.
    static func refusedByValidator(_ member: MemberName, _ validation: CheckinValidation) -> Problem {
        let message = validation.memberMessage
        return Problem(
            .checkinRefusedByValidator, detail: message,
            extensions: [
                "message": .string(message),
                "member": .object(["id": .string(member.id.uuidString.lowercased()), "name": .string(member.name)]),
            ])
    }

    /// 403 `membership_inactive`: the member was recognised (or named by staff) but may not come in now; the member's
    /// id and name and the `reason` (`paused`, `cancelled`, `expired`), so that the kiosk can greet them and send them
    /// to the desk.
    static func membershipInactive(_ member: MemberName, reason: InactiveReason) -> Problem {
        let detail =
            switch reason {
            case .paused: "the membership is paused: please see the front desk"
            case .cancelled: "the membership is cancelled: please see the front desk"
            case .expired: "the membership has ended: please see the front desk"
            }
        return Problem(
            .membershipInactive, detail: detail,
            extensions: [
                "reason": .string(reason.rawValue),
                "member": .object(["id": .string(member.id.uuidString.lowercased()), "name": .string(member.name)]),
            ])
    }
}
