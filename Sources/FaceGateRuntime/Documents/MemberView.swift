import Foundation
import Storage

/// A member as the API answers it and the member data document holds it (snake_case keys by the encoder); the PIN
/// itself never, only whether there is one.
public struct MemberView: Encodable, Sendable {
    public var id: UUID
    public var name: String
    public var externalId: String?
    public var email: String?
    public var metadata: JSONValue
    public var status: String
    public var validUntil: String?
    public var hasPin: Bool
    public var pinLocked: Bool
    public var faceCount: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(_ member: MemberStore.Member) {
        id = member.id
        name = member.name
        externalId = member.externalID
        email = member.email
        metadata = JSONValue(text: member.metadata)
        status = member.status
        validUntil = member.validUntil
        hasPin = member.hasPIN
        pinLocked = member.pinLocked
        faceCount = member.faceCount
        createdAt = member.createdAt
        updatedAt = member.updatedAt
    }
}
