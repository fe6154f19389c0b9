import Foundation
import Logging
import Storage
import Synchronization
import UseCases

/// The validation call over HTTP: POSTs `{"id", "type": "checkin.validation", "created_at", "organization_id",
/// "data": {member_id, external_id, name, method, distance}}` to the organisation's `checkin_validation_url`, signed
/// like a webhook with its validation secret, and waits at most `CHECKIN_VALIDATION_TIMEOUT_MS`: a 2xx admits, a 403
/// refuses with the receiver's short message (`{"message": …}` or plain text, at most 200 characters) for the kiosk;
/// anything else — another status, a redirect, no answer in time, a refused address — is a failure that
/// `CHECKIN_VALIDATION_ON_ERROR` decides (`admit`, or `refuse`, the default). Each organisation's URL is read at most
/// every few seconds.
public final class HTTPCheckinValidator: CheckinValidator {
    let organizations: OrganizationStore
    let sender: WebhookSender
    let admitOnError: Bool
    let logger: Logger
    private let cache = Mutex<[UUID: (endpoint: (url: String, secret: String)?, read: ContinuousClock.Instant)]>([:])
    static let cacheFor: Duration = .seconds(5)
    static let maxMessage = 200

    public init(organizations: OrganizationStore, sender: WebhookSender, admitOnError: Bool, logger: Logger) {
        self.organizations = organizations
        self.sender = sender
        self.admitOnError = admitOnError
        self.logger = logger
    }

    public func validate(_ request: CheckinValidationRequest) async -> CheckinValidation {
        let endpoint: (url: String, secret: String)?
        do {
            endpoint = try await self.endpoint(of: request.organization)
        } catch {
            return failed("its URL could not be read: \(String(describing: error))", request)
        }
        guard let endpoint else { return .notAsked }
        let body = Self.body(request)
        let headers = [
            (
                WebhookSignature.header,
                WebhookSignature.header(
                    secrets: [endpoint.secret], timestamp: Int(Date().timeIntervalSince1970), body: body)
            )
        ]
        do {
            let answer = try await sender.post(endpoint.url, body: body, headers: headers)
            switch answer.status {
            case 200..<300: return .admitted
            case 403: return .refused(message: Self.message(in: answer.body))
            default: return failed("answered \(answer.status)", request)
            }
        } catch let failure as WebhookSender.Failure {
            return failed(failure.description, request)
        } catch {
            return failed(String(describing: error), request)
        }
    }

    private func failed(_ reason: String, _ request: CheckinValidationRequest) -> CheckinValidation {
        logger.warning(
            "check-in validation failed",
            metadata: [
                "organization": "\(request.organization)", "reason": "\(reason)",
                "decided": "\(admitOnError ? "admit" : "refuse")",
            ])
        return .failed(reason: reason, admitted: admitOnError)
    }

    private func endpoint(of organization: UUID) async throws -> (url: String, secret: String)? {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[organization] }), now - cached.read < Self.cacheFor {
            return cached.endpoint
        }
        let endpoint = try await organizations.checkinValidation(of: organization)
        cache.withLock { $0[organization] = (endpoint, now) }
        return endpoint
    }

    static func body(_ request: CheckinValidationRequest) -> [UInt8] {
        struct Data: Encodable {
            var member_id: String, external_id: String?, name: String, method: String, distance: Float?
        }
        let data = Data(
            member_id: request.member.id.uuidString.lowercased(), external_id: request.member.externalID,
            name: request.member.name, method: request.method.rawValue, distance: request.distance)
        let json = (try? String(decoding: JSONEncoder().encode(data), as: UTF8.self)) ?? "{}"
        return WebhookEnvelope.body(
            id: UUID(), type: "checkin.validation", createdAt: Date(),
            organization: request.organization, data: json)
    }

    /// The receiver's words for the member: `message` of a JSON object, or the text; printable, at most 200 characters.
    static func message(in body: String) -> String {
        var text = body
        if let object = try? JSONSerialization.jsonObject(with: Foundation.Data(body.utf8)) as? [String: Any] {
            text = object["message"] as? String ?? ""
        }
        let printable = String(
            String.UnicodeScalarView(
                text.unicodeScalars.filter {
                    !CharacterSet.controlCharacters.contains($0)
                }))
        return String(printable.trimmingCharacters(in: .whitespacesAndNewlines).prefix(maxMessage))
    }
}
