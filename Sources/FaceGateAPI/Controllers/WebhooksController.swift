import Foundation
import Hummingbird
import Storage
import Webhooks

/// `/api/v1/webhooks`: an organisation's admins register the endpoints its events are sent to (`WebhookDispatcher`),
/// rotate their signing secrets, see every delivery's attempts, send one again or a ping.
struct WebhooksController {
    let store: WebhookStore
    let policy: WebhookAddressPolicy

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: show)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
        group.get(":id/deliveries", use: deliveries)
        group.post(":id/deliveries/:delivery_id/redeliver", use: redeliver)
        group.post(":id/ping", use: ping)
    }

    struct EndpointView: Encodable {
        var id: UUID
        var url: String
        var description: String
        var events: [String]
        var enabled: Bool
        var disabledReason: String?
        /// Until when the secret before the last rotation signs too.
        var previousSecretUntil: Date?
        var createdAt: Date
        var updatedAt: Date
        /// Shown once: when created and when rotated.
        var secret: String?

        init(_ endpoint: WebhookStore.Endpoint, secret: String? = nil) {
            id = endpoint.id
            url = endpoint.url
            description = endpoint.description
            events = endpoint.events
            enabled = endpoint.enabled
            disabledReason = endpoint.disabledReason
            previousSecretUntil = endpoint.previousSecretUntil
            createdAt = endpoint.createdAt
            updatedAt = endpoint.updatedAt
            self.secret = secret
        }
    }

    struct Fields: Decodable {
        var url: String?
        var events: [String]?
        var description: String?
        var enabled: Bool?
        var rotateSecret: Bool?
        var previousSecretHours: Int?
        enum CodingKeys: String, CodingKey {
            case url, events, description, enabled, rotateSecret = "rotate_secret", previousSecretHours =
                "previous_secret_hours"
        }
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let body = try await request.decodeJSON(as: Fields.self, context: context)
        guard body.enabled == nil, body.rotateSecret == nil, body.previousSecretHours == nil else {
            throw Problem.invalidField("enabled", "a new endpoint takes url, events and description")
        }
        let url = try checkedURL(body.url)
        let events = try checkedEvents(body.events)
        let description = try checkedDescription(body.description) ?? ""
        let secret = WebhookSignature.newSecret()
        let created = try await store.create(
            organization: actor.organizationID, url: url, events: events, description: description, secret: secret,
            actor: actor.id)
        return try JSONResponse.encode(EndpointView(created, secret: secret), status: .created)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let all = try await store.list(organization: actor.organizationID).map { EndpointView($0) }
        return try JSONResponse.encode(["webhooks": all], status: .ok)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "webhook")
        guard let endpoint = try await store.endpoint(id, organization: actor.organizationID) else {
            throw Problem.notFound("webhook")
        }
        return try JSONResponse.encode(EndpointView(endpoint), status: .ok)
    }

    /// Changes the URL, events, description or `enabled`; `rotate_secret: true` gives a new secret (shown once) while
    /// the old one keeps signing beside it for `previous_secret_hours` (24 by default, 0 to 168).
    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "webhook")
        let body = try await request.decodeJSON(as: Fields.self, context: context)
        var change = WebhookStore.Change(
            url: try body.url.map { try checkedURL($0) }, events: try body.events.map { try checkedEvents($0) },
            description: try checkedDescription(body.description), enabled: body.enabled)
        var secret: String?
        if body.rotateSecret == true {
            let hours = body.previousSecretHours ?? 24
            guard (0...168).contains(hours) else {
                throw Problem.invalidField("previous_secret_hours", "0 to 168 hours")
            }
            secret = WebhookSignature.newSecret()
            change.secret = (secret!, .seconds(hours * 3600))
        } else if body.previousSecretHours != nil {
            throw Problem.invalidField("previous_secret_hours", "goes with rotate_secret: true")
        }
        guard let updated = try await store.update(id, organization: actor.organizationID, change, actor: actor.id)
        else {
            throw Problem.notFound("webhook")
        }
        return try JSONResponse.encode(EndpointView(updated, secret: secret), status: .ok)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "webhook")
        guard try await store.delete(id, organization: actor.organizationID, actor: actor.id) else {
            throw Problem.notFound("webhook")
        }
        return Response(status: .noContent)
    }

    struct DeliveryView: Encodable {
        struct AttemptView: Encodable {
            var at: Date
            var statusCode: Int?
            var durationMs: Int
            var error: String?
        }
        var id: UUID
        var eventId: UUID
        var eventType: String
        var state: String
        var attempts: Int
        var nextAttemptAt: Date?
        var deliveredAt: Date?
        var createdAt: Date
        var history: [AttemptView]

        init(_ delivery: WebhookStore.Delivery) {
            id = delivery.id
            eventId = delivery.eventID
            eventType = delivery.eventType
            state = delivery.state
            attempts = delivery.attempts
            nextAttemptAt = delivery.nextAttemptAt
            deliveredAt = delivery.deliveredAt
            createdAt = delivery.createdAt
            history = delivery.history.map {
                AttemptView(at: $0.at, statusCode: $0.statusCode, durationMs: $0.durationMilliseconds, error: $0.error)
            }
        }
    }

    /// The endpoint's deliveries, newest first, each with its latest attempts (time, status code, duration, error).
    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "webhook")
        let limit = try integerParameter("limit", of: request, default: 50, in: 1...200)
        let cursor = try request.uri.queryParameters.get("cursor").map(CheckinsController.decodeCursor)
        guard
            let found = try await store.deliveries(
                endpoint: id, organization: actor.organizationID, limit: limit + 1, after: cursor)
        else { throw Problem.notFound("webhook") }
        let page = Array(found.prefix(limit))
        struct Page: Encodable {
            var deliveries: [DeliveryView]
            var nextCursor: String?
        }
        let next =
            found.count > limit
            ? page.last.map { CheckinsController.encodeCursor(at: $0.createdAt, id: $0.id) } : nil
        return try JSONResponse.encode(Page(deliveries: page.map(DeliveryView.init), nextCursor: next), status: .ok)
    }

    /// Queues a delivery again now (the same event id) with a new retry window: 202.
    @Sendable func redeliver(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "webhook")
        let delivery = try uuidParameter("delivery_id", of: context, what: "delivery")
        switch try await store.redeliver(delivery, endpoint: id, organization: actor.organizationID) {
        case .queued:
            return try JSONResponse.encode(["delivery_id": delivery.uuidString.lowercased()], status: .accepted)
        case .notFound:
            throw Problem.notFound("delivery")
        case .beingSent:
            throw Problem(.deliveryInProgress)
        }
    }

    /// Queues a `ping` event to this endpoint alone: 202 with its delivery's id.
    @Sendable func ping(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "webhook")
        guard let delivery = try await store.ping(id, organization: actor.organizationID) else {
            throw Problem.notFound("webhook")
        }
        return try JSONResponse.encode(["delivery_id": delivery.uuidString.lowercased()], status: .accepted)
    }

    // MARK: - Fields

    func checkedURL(_ raw: String?) throws -> String {
        try policy.checkedURL(raw ?? "", field: "url")
    }

    func checkedEvents(_ raw: [String]?) throws -> [String] {
        let known = WebhookEventType.allCases.map(\.rawValue)
        guard let raw, !raw.isEmpty, raw.allSatisfy(known.contains) else {
            throw Problem.invalidField("events", "one or more of " + known.joined(separator: ", "))
        }
        return known.filter(raw.contains)
    }

    func checkedDescription(_ raw: String?) throws -> String? {
        guard let raw else { return nil }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.unicodeScalars.count <= 500,
            !trimmed.unicodeScalars.contains(where: CharacterSet.controlCharacters.contains)
        else {
            throw Problem.invalidField("description", "at most 500 characters, no control characters")
        }
        return trimmed
    }
}

extension WebhookAddressPolicy {
    /// `raw` trimmed, if a webhook or validation call may go there (400 `invalid_field` naming `field` otherwise).
    func checkedURL(_ raw: String, field: String) throws -> String {
        let url = raw.trimmingCharacters(in: .whitespaces)
        guard !url.isEmpty else { throw Problem.invalidField(field, "the receiver's https URL") }
        do {
            _ = try target(url)
        } catch let refusal as WebhookAddressPolicy.Refusal {
            throw Problem.invalidField(field, refusal.description)
        }
        return url
    }
}
