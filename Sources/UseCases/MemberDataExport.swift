import Foundation
import Storage

/// A member's own data, for their access and portability requests (GDPR articles 15 and 20): the member record,
/// their faces (what made each and where, never a template, thumbnail or crop), their check-ins and the audit entries
/// about them. Every export is itself audited (`member_exported`, by the account that asked); nothing is returned
/// unless that entry was written.
public struct MemberDataExport: Sendable {
    let members: MemberStore
    let checkins: CheckinStore

    public init(members: MemberStore, checkins: CheckinStore) {
        self.members = members
        self.checkins = checkins
    }

    public struct MemberData: Sendable {
        public var member: MemberStore.Member
        public var faces: [MemberStore.FaceRecord]
        public var checkins: [CheckinStore.Checkin]
        /// Oldest first; this export's own entry is the last.
        public var audit: [MemberStore.AuditEntry]
        public var exportedAt: Date
    }

    /// `UseCaseError.notFound` when the organisation has no such member.
    public func export(member id: UUID, organization: UUID, actor: UUID?) async throws -> MemberData {
        guard let member = try await members.find(id, organization: organization) else {
            throw UseCaseError.notFound("member")
        }
        let faces = try await members.faceRecords(of: id, organization: organization)
        let visits = try await checkins.all(of: id, organization: organization)
        guard
            try await members.recordExport(
                member: id, organization: organization, actor: actor, faces: faces.count, checkins: visits.count)
        else { throw UseCaseError.notFound("member") }
        return MemberData(
            member: member, faces: faces, checkins: visits,
            audit: try await members.auditTrail(of: id, organization: organization), exportedAt: Date())
    }
}
