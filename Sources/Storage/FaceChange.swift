import Foundation

/// A face that is in the gallery: its row id and the member it belongs to (both fixed for the row's lifetime).
public struct FaceRef: Hashable, Sendable {
    public let face: UUID
    public let member: UUID

    public init(face: UUID, member: UUID) {
        self.face = face
        self.member = member
    }
}

/// One change to the `faces` table as the database announces it on `FaceChange.channel` (see the v2 migration's
/// triggers): after commit, to every listening instance, whatever path made the change.
public enum FaceChange: Sendable, Equatable {
    case added(FaceRef, organization: UUID)
    case removed(FaceRef, organization: UUID)
    /// So many rows of one organisation changed at once that it is cheaper to reload it.
    case reload(organization: UUID)
    /// The table was truncated.
    case reloadAll
    /// Another face model was activated (`ModelActivationStore.activate`).
    case modelActivated

    public static let channel = "facegate_faces"
    static let modelActivatedPayload = #"{"op":"model"}"#

    /// Parses a notification payload; nil for one this build does not understand.
    public init?(payload: String) {
        struct Payload: Decodable {
            var op: String
            var org: UUID?
            var face: UUID?
            var member: UUID?
        }
        guard let payload = try? JSONDecoder().decode(Payload.self, from: Data(payload.utf8)) else { return nil }
        switch (payload.op, payload.org, payload.face, payload.member) {
        case ("add", let org?, let face?, let member?):
            self = .added(FaceRef(face: face, member: member), organization: org)
        case ("remove", let org?, let face?, let member?):
            self = .removed(FaceRef(face: face, member: member), organization: org)
        case ("reload", let org?, _, _): self = .reload(organization: org)
        case ("reload_all", _, _, _): self = .reloadAll
        case ("model", _, _, _): self = .modelActivated
        default: return nil
        }
    }
}

/// The count of an organisation's faces and an order-independent checksum of their ids, computed the same way by
/// the database (`FaceStore.summaries`) and by the in-memory index, to tell whether the two hold the same rows.
public struct FaceSummary: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var checksum: UInt64

    public init(count: Int = 0, checksum: UInt64 = 0) {
        self.count = count
        self.checksum = checksum
    }

    /// The id's first 8 bytes as a big-endian integer; the checksum is their sum modulo 2⁶⁴.
    public static func term(_ face: UUID) -> UInt64 {
        let bytes = face.uuid
        return [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5, bytes.6, bytes.7]
            .reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    public mutating func add(_ face: UUID) {
        count += 1
        checksum &+= Self.term(face)
    }

    public mutating func remove(_ face: UUID) {
        count -= 1
        checksum &-= Self.term(face)
    }

    public var description: String { "\(count) faces, checksum \(String(checksum, radix: 16))" }
}
