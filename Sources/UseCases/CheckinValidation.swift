import Foundation
import Storage

/// The organisation's own software asked whether a recognised member may come in, after the face matched and the
/// membership is active and before the check-in is recorded (`CHECKIN_VALIDATION_URL`, set per organisation).
public protocol CheckinValidator: Sendable {
    func validate(_ request: CheckinValidationRequest) async -> CheckinValidation
}

public struct CheckinValidationRequest: Sendable {
    public var organization: UUID
    public var member: MemberName
    public var method: CheckinMethod
    public var distance: Float?
}

/// What the validator answered, or what its absence (a timeout, an error) was taken for.
public enum CheckinValidation: Sendable, Equatable {
    /// No validation call is set for the organisation.
    case notAsked
    /// 2xx.
    case admitted
    /// 403, with the receiver's short message for the member.
    case refused(message: String)
    /// No usable answer (`reason`), and `CHECKIN_VALIDATION_ON_ERROR` decided: admitted or refused.
    case failed(reason: String, admitted: Bool)

    public var admits: Bool {
        switch self {
        case .notAsked, .admitted: true
        case .refused: false
        case .failed(_, let admitted): admitted
        }
    }

    /// For the attempt record and metrics: `admitted`, `refused`, `error_admitted`, `error_refused` (nil: not asked).
    public var result: String? {
        switch self {
        case .notAsked: nil
        case .admitted: "admitted"
        case .refused: "refused"
        case .failed(_, let admitted): admitted ? "error_admitted" : "error_refused"
        }
    }

    /// What the attempt record says of it (nil: nothing to add): the refusal's message, or the failure and what was
    /// decided.
    public var attemptReason: String? {
        switch self {
        case .notAsked, .admitted: nil
        case .refused(let message): message.isEmpty ? nil : message
        case .failed(let reason, let admitted): "validation failed, \(admitted ? "admitted" : "refused"): \(reason)"
        }
    }

    /// What the member is told of a refusal: the receiver's message, or to see the desk.
    public var memberMessage: String {
        if case .refused(let message) = self, !message.isEmpty { return message }
        return "the check-in could not be confirmed: please see the front desk"
    }
}
