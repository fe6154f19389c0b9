import FaceEngine
import Foundation
import Gallery
import Liveness
import Storage

/// The front desk: a face is matched 1:N and the member the match rule accepts is checked in, unless their
/// membership is paused, cancelled or past its last day. A face no member is within the 1:N tolerance of, but that
/// lies within the 1:1 tolerance (`MatchPolicy.confirmation`) of members with a PIN, waits for one of their PINs
/// (`confirm`); a member number narrows the search to that member (1:1); staff may check a member in by hand. A
/// second check-in within the dedup window returns the first. At a kiosk the face comes from frames of a head turn the
/// service asked for (`challenge`, `checkIn(frames:…)`): a photo of a member cannot turn. Decisions are outcomes, not
/// errors, so that the caller can put each on the attempt record with the member and distance it was about; what
/// cannot be judged (no face, a bad photo) is thrown.
public struct CheckIn: Sendable {
    let model: ModelContext
    let checkins: CheckinStore
    let confirmations: CheckinConfirmationStore
    let challenges: CheckinChallengeStore
    let pins: PINHashing
    let liveness: LivenessCheck
    /// `CHECKIN_DEDUP_SECONDS`.
    let dedupSeconds: Int
    /// Asked before a recognised member is checked in (staff check-ins are not asked: they are the override).
    let validator: (any CheckinValidator)?

    /// Candidates a confirmation names at most, tries it allows, and how long it waits.
    public static let maxCandidates = 3
    public static let confirmationAttempts = 3
    public static let confirmationSeconds = 120
    /// Wrong PINs within an hour that lock a member's PIN until staff unlock it.
    public static let pinLockFailures = 5
    /// Check-ins by a member's number an hour (a try with the member's own face starts the count again).
    public static let codeTriesPerHour = 5
    /// How long a liveness challenge waits for its frames, and how many frames it takes.
    public static let challengeSeconds = 30
    public static let challengeFrameCounts = 2...8

    public init(
        model: ModelContext, checkins: CheckinStore, confirmations: CheckinConfirmationStore,
        challenges: CheckinChallengeStore, pins: PINHashing, liveness: LivenessCheck, dedupSeconds: Int,
        validator: (any CheckinValidator)? = nil
    ) {
        self.validator = validator
        self.model = model
        self.checkins = checkins
        self.confirmations = confirmations
        self.challenges = challenges
        self.pins = pins
        self.liveness = liveness
        self.dedupSeconds = dedupSeconds
    }

    public struct Result: Sendable {
        public var checkin: CheckinStore.Checkin
        public var member: MemberName
        /// False when this is the member's check-in of a moment ago, returned again.
        public var created: Bool
        /// What the organisation's validation call said (`notAsked` when none is set).
        public var validation: CheckinValidation = .notAsked
    }

    public enum Outcome: Sendable {
        case checkedIn(Result)
        /// Nobody within the tolerance, or two members too close to tell apart; the nearest member, if any.
        case noMatch(nearest: MemberCandidate?)
        /// The member, recognised or named by staff, may not come in now; nothing is recorded as a check-in.
        case membershipInactive(MemberName, InactiveReason, distance: Float?)
        /// The face is within the 1:1 tolerance of these members (nearest first), each with a PIN: one of their PINs
        /// decides. Who they are stays on the server.
        case needsConfirmation(id: UUID, candidates: [CheckinConfirmationStore.Candidate])
        /// A PIN that is none of the candidates'; none left: the confirmation is over.
        case wrongPIN(attemptsLeft: Int, candidates: [UUID])
        /// The PIN is that of more than one candidate: staff decide.
        case pinAmbiguous(candidates: [UUID])
        /// The frames of a challenge are not one live head turning the asked way (with what the check measured);
        /// nobody was looked for.
        case livenessFailed(LivenessRefusal, LivenessMeasures?)
        /// The organisation's validation call refused the member (its message), or gave no answer and
        /// `CHECKIN_VALIDATION_ON_ERROR` is `refuse`; nothing is recorded as a check-in.
        case refusedByValidator(MemberName, CheckinValidation, distance: Float?)
    }

    /// 1:N: the photo's largest face against the organisation's gallery.
    public func checkIn(photo: [UInt8], organization: UUID, recordedBy: UUID?) async throws -> Outcome {
        try await checkIn(
            face: try await model.largestFace(in: photo), organization: organization, recordedBy: recordedBy)
    }

    /// A liveness challenge for the account: a random turn (`left`, `right`) its next check-in's frames must show,
    /// within `challengeSeconds`, once.
    public func challenge(organization: UUID, account: UUID) async throws -> (id: UUID, turn: TurnDirection) {
        guard model.pipeline.engines.descriptor.landmarkLayout == .eyesNoseTipMouthCorners else {
            throw UseCaseError.livenessUnavailable
        }
        var random = SystemRandomNumberGenerator()
        let turn = TurnDirection.allCases.randomElement(using: &random) ?? .left
        let id = try await challenges.create(
            organization: organization, account: account, turn: turn.rawValue, lifetime: Self.challengeSeconds)
        return (id, turn)
    }

    /// A check-in from the frames of a challenge (2–8, in capture order): the challenge is used up, the frames must
    /// show one live head turning the asked way (`LivenessCheck`; one person: `ChallengeFrames.refusal(samePersonWithin:)`
    /// at the 1:1 tolerance), and then the most frontal face is checked in as a photo would be, 1:N or 1:1 with the
    /// member number `code`.
    public func checkIn(
        frames: [[UInt8]], challenge: UUID, code: String?, organization: UUID, account: UUID
    ) async throws -> Outcome {
        guard let raw = try await challenges.take(challenge, organization: organization, account: account),
            let asked = TurnDirection(rawValue: raw)
        else {
            throw UseCaseError.challengeInvalid
        }
        let seen = try await model.pipeline.challengeFrames(frames, asked: asked, check: liveness)
        if let refusal = seen.refusal(samePersonWithin: model.policy.tolerance(galleryFaces: 1)) {
            return .livenessFailed(refusal, seen.measures)
        }
        guard let frontal = seen.frontal else { return .livenessFailed(.faceMissing, nil) }
        if let code {
            return try await checkIn(face: frontal, code: code, organization: organization, recordedBy: account)
        }
        return try await checkIn(face: frontal, organization: organization, recordedBy: account)
    }

    /// 1:N: a face against the organisation's gallery.
    func checkIn(face: FaceEncoding, organization: UUID, recordedBy: UUID?) async throws -> Outcome {
        let candidates = try await model.gallery.nearestMembers(
            to: face.embedding, in: organization, limit: Self.maxCandidates)
        let rule = model.policy.rule(galleryFaces: try await model.gallery.faceCount(in: organization))
        let nearest: MemberCandidate?
        switch rule.decide(candidates) {
        case .match(let best):
            // A member erased a moment ago is nobody.
            return try await admit(best.member, organization: organization, distance: best.distance, method: .face) {
                try await checkins.record(
                    organization: organization, member: best.member, face: best.face, distance: best.distance,
                    similarity: best.similarity, dedupSeconds: dedupSeconds, recordedBy: recordedBy)
            } ?? .noMatch(nearest: nil)
        case .noMatch(let found): nearest = found
        case .ambiguous(let best, _): nearest = best
        }
        return try await confirmation(among: candidates, organization: organization, account: recordedBy)
            ?? .noMatch(nearest: nearest)
    }

    /// Members nobody matched 1:N but the face lies within the 1:1 tolerance of, who have a usable PIN (at most
    /// `maxCandidates`, nearest first): left waiting for a PIN; nil when there are none.
    private func confirmation(
        among ranked: [MemberCandidate], organization: UUID, account: UUID?
    ) async throws -> Outcome? {
        guard let account, let tolerance = model.policy.confirmation?.tolerance() else { return nil }
        let near = ranked.filter { $0.distance <= tolerance }.prefix(Self.maxCandidates)
        guard !near.isEmpty else { return nil }
        let withPIN = try await model.members.withUsablePIN(near.map(\.member), organization: organization)
        let candidates = near.filter { withPIN.contains($0.member) }
            .map { CheckinConfirmationStore.Candidate(member: $0.member, face: $0.face, distance: $0.distance) }
        guard !candidates.isEmpty else { return nil }
        let id = try await confirmations.create(
            organization: organization, account: account, candidates: candidates, attempts: Self.confirmationAttempts,
            lifetime: Self.confirmationSeconds)
        return .needsConfirmation(id: id, candidates: candidates)
    }

    /// The PIN for a confirmation (`needsConfirmation`) of this account: the candidate whose PIN it is comes in
    /// (`face_pin`, their membership still counting); a wrong PIN counts against every candidate's PIN lock and takes
    /// one of the confirmation's tries. An unknown, expired, used-up or other account's confirmation is
    /// `UseCaseError.notFound`. Every candidate's hash is checked, whatever the first gives.
    public func confirm(_ id: UUID, pin: String, organization: UUID, account: UUID) async throws -> Outcome {
        guard let taken = try await confirmations.take(id, organization: organization, account: account) else {
            throw UseCaseError.notFound("confirmation")
        }
        // The try is counted before it is checked: tries at once cannot all pass a lock not yet set.
        let hashes = try await model.members.takePINTries(
            taken.candidates.map(\.member), organization: organization, lockAfter: Self.pinLockFailures, actor: account)
        var matching: [CheckinConfirmationStore.Candidate] = []
        for candidate in taken.candidates {
            guard let hash = hashes[candidate.member] else { continue }
            if try await pins.verify(pin, hash) { matching.append(candidate) }
        }
        let members = taken.candidates.map(\.member)
        guard matching.count == 1, let member = matching.first else {
            if matching.isEmpty {
                _ = try await model.members.lockPINs(
                    Array(hashes.keys), organization: organization, lockAfter: Self.pinLockFailures, actor: account)
            }
            if matching.count > 1 || taken.attemptsLeft == 0 { try await confirmations.remove(id) }
            return matching.isEmpty
                ? .wrongPIN(attemptsLeft: taken.attemptsLeft, candidates: members)
                : .pinAmbiguous(candidates: members)
        }
        try await model.members.giveBackPINTries(
            hashes.keys.filter { $0 != member.member }, organization: organization)
        try await confirmations.remove(id)
        try await model.members.resetPINFailures(member.member, organization: organization)
        return try await admit(member.member, organization: organization, distance: member.distance, method: .facePIN) {
            try await checkins.record(
                organization: organization, member: member.member, face: member.face, distance: member.distance,
                similarity: 1 - member.distance, dedupSeconds: dedupSeconds, recordedBy: account, method: .facePIN)
        } ?? .noMatch(nearest: nil)
    }

    /// 1:1 by member number (the member's `external_id`): the photo's largest face against that member's faces only,
    /// at the 1:1 tolerance for as many faces. A wrong face and an unknown number are alike (`noMatch`, after the same
    /// work), so that numbers are not revealed; a number tried more than `codeTriesPerHour` times an hour is refused
    /// for the rest of it (a stranger with a number and a folder of faces gets a few tries, not thousands).
    public func checkIn(photo: [UInt8], code: String, organization: UUID, recordedBy: UUID?) async throws -> Outcome {
        try await checkIn(
            face: try await model.largestFace(in: photo), code: code, organization: organization,
            recordedBy: recordedBy)
    }

    func checkIn(face: FaceEncoding, code: String, organization: UUID, recordedBy: UUID?) async throws -> Outcome {
        guard let confirmation = model.policy.confirmation else { return .noMatch(nearest: nil) }
        let member = try await model.members.member(withCode: code, organization: organization)
        let allowed = try await model.members.takeCodeTry(
            member, organization: organization, limit: Self.codeTriesPerHour, actor: recordedBy)
        let faces = try await model.faces.enrolledFaces(of: member ?? UUID(), organization: organization)
        guard let member, allowed,
            let best = faces.map({ (id: $0.id, distance: faceDistance(face.embedding, $0.embedding)) })
                .min(by: { $0.distance < $1.distance }),
            best.distance <= confirmation.tolerance(faces: faces.count)
        else {
            return .noMatch(nearest: nil)
        }
        try await model.members.resetCodeTries(member, organization: organization)
        return try await admit(member, organization: organization, distance: best.distance, method: .codeFace) {
            try await checkins.record(
                organization: organization, member: member, face: best.id, distance: best.distance,
                similarity: 1 - best.distance, dedupSeconds: dedupSeconds, recordedBy: recordedBy, method: .codeFace)
        } ?? .noMatch(nearest: nil)
    }

    /// Staff check a member in by hand (`manual`), with their reason: audited; the membership still counts (staff
    /// change it on the member first). An unknown member is `UseCaseError.notFound`.
    public func checkInByStaff(member: UUID, reason: String, organization: UUID, staff: UUID) async throws -> Outcome {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(trimmed.unicodeScalars.count) else {
            throw UseCaseError.invalidField("reason", "1 to 500 characters: why staff checked the member in")
        }
        guard
            let outcome = try await admit(
                member, organization: organization, distance: nil, method: .manual,
                record: {
                    try await checkins.recordManual(
                        organization: organization, member: member, reason: trimmed,
                        dedupSeconds: dedupSeconds, recordedBy: staff)
                })
        else { throw UseCaseError.notFound("member") }
        return outcome
    }

    /// Checks the member in with `record` when their membership is active and the organisation's validation call (for
    /// every `method` but staff's) does not refuse; nil when there is no such member.
    private func admit(
        _ member: UUID, organization: UUID, distance: Float?, method: CheckinMethod,
        record: () async throws -> (checkin: CheckinStore.Checkin, created: Bool)
    ) async throws -> Outcome? {
        guard let admission = try await model.members.admission(of: member, organization: organization) else {
            return nil
        }
        let name = MemberName(id: member, name: admission.name, externalID: admission.externalID)
        if let reason = admission.inactive { return .membershipInactive(name, reason, distance: distance) }
        var validation = CheckinValidation.notAsked
        if method != .manual, let validator {
            validation = await validator.validate(
                CheckinValidationRequest(organization: organization, member: name, method: method, distance: distance))
            guard validation.admits else { return .refusedByValidator(name, validation, distance: distance) }
        }
        let (checkin, created) = try await record()
        return .checkedIn(Result(checkin: checkin, member: name, created: created, validation: validation))
    }
}

/// How PINs are hashed and checked (slow and salted: bcrypt, off the cooperative pool).
public struct PINHashing: Sendable {
    public var hash: @Sendable (_ pin: String) async throws -> String
    /// Whether `pin` is the one `hash` was made from (compared in constant time by the hash's own check).
    public var verify: @Sendable (_ pin: String, _ hash: String) async throws -> Bool

    public init(
        hash: @escaping @Sendable (String) async throws -> String,
        verify: @escaping @Sendable (String, String) async throws -> Bool
    ) {
        self.hash = hash
        self.verify = verify
    }
}
