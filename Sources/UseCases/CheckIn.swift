import FaceEngine
import Foundation
import Gallery
import Storage

/// The front desk: a face is matched 1:N and the member the match rule accepts is checked in, unless their
/// membership is paused, cancelled or past its last day; staff may check a member in by hand. A second check-in
/// within the dedup window returns the first. Decisions are outcomes, not errors, so that the caller can put each
/// on the attempt record with the member and distance it was about; what cannot be judged (no face, a bad photo)
/// is thrown.
public struct CheckIn: Sendable {
    let model: ModelContext
    let checkins: CheckinStore
    /// `CHECKIN_DEDUP_SECONDS`.
    let dedupSeconds: Int

    public init(model: ModelContext, checkins: CheckinStore, dedupSeconds: Int) {
        self.model = model
        self.checkins = checkins
        self.dedupSeconds = dedupSeconds
    }

    public struct Result: Sendable {
        public var checkin: CheckinStore.Checkin
        public var member: MemberName
        /// False when this is the member's check-in of a moment ago, returned again.
        public var created: Bool
    }

    public enum Outcome: Sendable {
        case checkedIn(Result)
        /// Nobody within the tolerance, or two members too close to tell apart; the nearest member, if any.
        case noMatch(nearest: MemberCandidate?)
        /// The member, recognised or named by staff, may not come in now; nothing is recorded as a check-in.
        case membershipInactive(MemberName, InactiveReason, distance: Float?)
    }

    /// 1:N: the photo's largest face against the organisation's gallery.
    public func checkIn(photo: [UInt8], organization: UUID, recordedBy: UUID?) async throws -> Outcome {
        let face = try await model.largestFace(in: photo)
        let candidates = try await model.gallery.nearestMembers(to: face.embedding, in: organization, limit: 1)
        let rule = model.policy.rule(galleryFaces: try await model.gallery.faceCount(in: organization))
        switch rule.decide(candidates) {
        case .noMatch(let nearest): return .noMatch(nearest: nearest)
        case .ambiguous(let best, _): return .noMatch(nearest: best)
        case .match(let best):
            // A member erased a moment ago is nobody.
            return try await admit(best.member, organization: organization, distance: best.distance) {
                try await checkins.record(
                    organization: organization, member: best.member, face: best.face, distance: best.distance,
                    similarity: best.similarity, dedupSeconds: dedupSeconds, recordedBy: recordedBy)
            } ?? .noMatch(nearest: nil)
        }
    }

    /// Staff check a member in by hand (`manual`), with their reason: audited; the membership still counts (staff
    /// change it on the member first). An unknown member is `UseCaseError.notFound`.
    public func checkInByStaff(member: UUID, reason: String, organization: UUID, staff: UUID) async throws -> Outcome {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(trimmed.unicodeScalars.count) else {
            throw UseCaseError.invalidField("reason", "1 to 500 characters: why staff checked the member in")
        }
        guard let outcome = try await admit(member, organization: organization, distance: nil, record: {
            try await checkins.recordManual(organization: organization, member: member, reason: trimmed,
                                            dedupSeconds: dedupSeconds, recordedBy: staff)
        }) else { throw UseCaseError.notFound("member") }
        return outcome
    }

    /// Checks the member in with `record` when their membership is active; nil when there is no such member.
    private func admit(
        _ member: UUID, organization: UUID, distance: Float?,
        record: () async throws -> (checkin: CheckinStore.Checkin, created: Bool)
    ) async throws -> Outcome? {
        guard let admission = try await model.members.admission(of: member, organization: organization) else {
            return nil
        }
        let name = MemberName(id: member, name: admission.name, externalID: admission.externalID)
        if let reason = admission.inactive { return .membershipInactive(name, reason, distance: distance) }
        let (checkin, created) = try await record()
        return .checkedIn(Result(checkin: checkin, member: name, created: created))
    }
}
