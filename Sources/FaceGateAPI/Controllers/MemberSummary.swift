import Foundation
import UseCases

/// A member as a result names it: id, name and external id.
struct MemberSummary: Encodable {
    var id: UUID
    var name: String
    var externalId: String?

    init(_ member: MemberName) {
        id = member.id
        name = member.name
        externalId = member.externalID
    }

    init(id: UUID, name: String, externalId: String?) {
        self.id = id
        self.name = name
        self.externalId = externalId
    }
}
