import Foundation
import Hummingbird
import Storage
import Webhooks

/// `/api/v1/organizations`: the super admin's list and creation of organisations (tenants), and an organisation's
/// settings (its time zone and liveness policy), which its own admins may change too and every account of it may read
/// (a kiosk reads whether it must ask for a head turn).
struct OrganizationsController {
    let organizations: OrganizationStore
    /// Where a validation call may go (as webhooks).
    let validationPolicy: WebhookAddressPolicy

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: show)
        group.patch(":id", use: update)
    }

    struct OrganizationView: Encodable {
        var id: UUID
        var name: String
        var timeZone: String
        var liveness: String
        var checkinValidationUrl: String?
        /// Shown once: when the validation URL is set.
        var checkinValidationSecret: String?
        var createdAt: Date

        init(_ organization: OrganizationStore.Organization, validationSecret: String? = nil) {
            id = organization.id
            name = organization.name
            timeZone = organization.timeZone
            liveness = organization.liveness.rawValue
            checkinValidationUrl = organization.checkinValidationURL
            checkinValidationSecret = validationSecret
            createdAt = organization.createdAt
        }

        /// `checkin_validation_url` is written as null when none is set.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(timeZone, forKey: .timeZone)
            try container.encode(liveness, forKey: .liveness)
            try container.encode(checkinValidationUrl, forKey: .checkinValidationUrl)
            try container.encodeIfPresent(checkinValidationSecret, forKey: .checkinValidationSecret)
            try container.encode(createdAt, forKey: .createdAt)
        }
        enum CodingKeys: String, CodingKey {
            case id, name, timeZone, liveness, checkinValidationUrl, checkinValidationSecret, createdAt
        }
    }

    struct Fields: Decodable {
        var name: String?
        var timeZone: String?
        var liveness: String?
        /// Absent: unchanged; null: removed; a URL: set, with a new secret.
        var checkinValidationURL: String??
        enum CodingKeys: String, CodingKey {
            case name, timeZone = "time_zone", liveness, checkinValidationURL = "checkin_validation_url"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone)
            liveness = try container.decodeIfPresent(String.self, forKey: .liveness)
            if container.contains(.checkinValidationURL) {
                checkinValidationURL =
                    try container.decodeNil(forKey: .checkinValidationURL)
                    ? .some(nil) : .some(try container.decode(String.self, forKey: .checkinValidationURL))
            }
        }
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.superAdmin()
        let body = try await request.decodeJSON(as: Fields.self, context: context)
        let name = (body.name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw Problem.invalidField("name", "1 to 200 characters") }
        var timeZone = "UTC"
        if let asked = body.timeZone { timeZone = try await knownTimeZone(asked) }
        let liveness = try Self.liveness(body.liveness) ?? .challenge
        let created = try await organizations.create(
            name: name, timeZone: timeZone, liveness: liveness, actor: actor.id)
        return try JSONResponse.encode(OrganizationView(created), status: .created)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.superAdmin()
        let all = try await organizations.list().map { OrganizationView($0) }
        return try JSONResponse.encode(["organizations": all], status: .ok)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try ownOrAnyForSuperAdmin(context, roles: [.admin, .operator, .kiosk])
        guard var organization = try await organizations.find(id) else { throw Problem.notFound("organization") }
        // The validation URL may carry a token of the gym's system: for admins only.
        if try Role(rawValue: context.account().role) != .admin { organization.checkinValidationURL = nil }
        return try JSONResponse.encode(OrganizationView(organization), status: .ok)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try ownOrAnyForSuperAdmin(context)
        let body = try await request.decodeJSON(as: Fields.self, context: context)
        guard body.name == nil else { throw Problem.invalidField("name", "an organisation's name does not change") }
        var timeZone: String?
        if let asked = body.timeZone { timeZone = try await knownTimeZone(asked) }
        // A new URL gets a new secret; the same URL again changes nothing (its receiver keeps checking the secret it
        // has); null removes both.
        var validation: (url: String?, secret: String?)?
        if let asked = body.checkinValidationURL {
            if let url = try asked.map({ try validationPolicy.checkedURL($0, field: "checkin_validation_url") }) {
                if try await organizations.find(id)?.checkinValidationURL != url {
                    validation = (url, WebhookSignature.newSecret())
                }
            } else {
                validation = (nil, nil)
            }
        }
        let actor = try context.account().id
        guard
            var updated = try await organizations.update(
                id, timeZone: timeZone, liveness: try Self.liveness(body.liveness), actor: actor)
        else { throw Problem.notFound("organization") }
        if let validation {
            guard
                let changed = try await organizations.setCheckinValidation(
                    id, url: validation.url, secret: validation.secret, actor: actor)
            else { throw Problem.notFound("organization") }
            updated = changed
        }
        return try JSONResponse.encode(OrganizationView(updated, validationSecret: validation?.secret), status: .ok)
    }

    /// `challenge` or `off`.
    static func liveness(_ raw: String?) throws -> OrganizationStore.LivenessPolicy? {
        guard let raw else { return nil }
        guard let policy = OrganizationStore.LivenessPolicy(rawValue: raw) else {
            throw Problem.invalidField(
                "liveness",
                "challenge (a kiosk checks in with a head turn) or off (the terminals bring their own liveness)")
        }
        return policy
    }

    /// The organisation of the path: any for the super admin, their own for accounts of `roles`; another one is 404
    /// like an unknown id.
    private func ownOrAnyForSuperAdmin(_ context: AppRequestContext, roles: Set<Role> = [.admin]) throws -> UUID {
        let actor = try context.account(in: roles)
        let id = try uuidParameter("id", of: context, what: "organization")
        guard actor.isSuperAdmin || id == actor.organizationID else { throw Problem.notFound("organization") }
        return id
    }

    /// The IANA time zone as PostgreSQL (which computes the organisation's days) spells it.
    private func knownTimeZone(_ name: String) async throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard (1...64).contains(trimmed.count), let known = try await organizations.knowsTimeZone(trimmed) else {
            throw Problem.invalidField("time_zone", "an IANA time zone name, e.g. Europe/Berlin or UTC")
        }
        return known
    }
}
