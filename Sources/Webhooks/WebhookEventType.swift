/// The events an endpoint can subscribe to. Each is written by the database, in the transaction of the change it
/// describes (migration 15's triggers), and sent as `{"id", "type", "created_at", "organization_id", "data"}`.
public enum WebhookEventType: String, Sendable, CaseIterable, Codable {
    /// A member checked in (by face, member number and face, face and PIN, or by staff): `checkin_id`, `member_id`,
    /// `external_id`, `name`, `checked_in_at`, `method`, `distance` (null for staff).
    case checkinRecorded = "checkin.recorded"
    /// A check-in attempt refused: `attempt_id`, `occurred_at`, `outcome` (the answer's code), `reason`, `method`,
    /// `distance`, and `member` (`member_id`, `external_id`, `name`) when the refusal names one.
    case checkinRefused = "checkin.refused"
    /// `member_id`, `external_id`, `name`, `email`, `metadata`, `status`, `valid_until`, `has_pin`.
    case memberCreated = "member.created"
    /// The member's fields as after the change (as `member.created`).
    case memberUpdated = "member.updated"
    /// `member_id`, `external_id` only; what earlier events kept of the member is removed from them.
    case memberErased = "member.erased"
    /// `member_id`, `face_id`, `model`.
    case faceEnrolled = "face.enrolled"
    /// `member_id`, `face_id`, `face_ids` (the photo's faces of every model, deleted together).
    case faceDeleted = "face.deleted"

    /// What `data` holds, in words (the OpenAPI document's).
    public var fields: String {
        switch self {
        case .checkinRecorded:
            "checkin_id, member_id, external_id, name, checked_in_at, method, distance (null for staff)"
        case .checkinRefused:
            "attempt_id, occurred_at, outcome (the answer's code), reason, method, distance, member (member_id, external_id, name) or null"
        case .memberCreated, .memberUpdated:
            "member_id, external_id, name, email, metadata, status, valid_until, has_pin"
        case .memberErased: "member_id, external_id"
        case .faceEnrolled: "member_id, face_id, model"
        case .faceDeleted: "member_id, face_id, face_ids (the photo's faces of every model)"
        }
    }

    /// Sent by `POST /webhooks/{id}/ping` to that endpoint alone: `endpoint_id`.
    public static let ping = "ping"
}
