import Foundation
import Logging
import PostgresNIO

/// Organisations (tenants): every member, face and staff account belongs to exactly one.
public struct OrganizationStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public struct Organization: Sendable, Equatable {
        public var id: UUID
        public var name: String
        /// IANA name (`Europe/Berlin`): the organisation's days, such as a membership's last one, end at its midnight.
        public var timeZone: String
        /// Whether a kiosk's check-in must be a head turn the service asked for (`Liveness`).
        public var liveness: LivenessPolicy
        /// Asked before each recognised member is checked in (nil: nobody is asked).
        public var checkinValidationURL: String?
        public var createdAt: Date
    }

    /// `organizations.liveness`: `challenge` (the default) or `off` (the organisation's terminals bring their own
    /// liveness, such as IR cameras).
    public enum LivenessPolicy: String, Sendable, CaseIterable {
        case challenge, off
    }

    /// Every query of `organizations(_:)` selects these, in this order.
    static let columns = "id, name, time_zone, liveness, checkin_validation_url, created_at"

    func organizations(_ query: PostgresQuery) async throws -> [Organization] {
        var found: [Organization] = []
        for (id, name, timeZone, liveness, validationURL, created)
            in try await database.query(query, logger: logger).decode(
                (UUID, String, String, String, String?, Date).self)
        {
            found.append(
                Organization(
                    id: id, name: name, timeZone: timeZone,
                    liveness: LivenessPolicy(rawValue: liveness) ?? .challenge,
                    checkinValidationURL: validationURL, createdAt: created))
        }
        return found
    }

    /// Creates an organisation and its `organization_created` audit entry (by `actor`) in one statement; throws
    /// `StorageError.duplicateOrganization` when the name (any case) is taken.
    public func create(
        name: String, timeZone: String = "UTC", liveness: LivenessPolicy = .challenge, actor: UUID? = nil
    ) async throws -> Organization {
        do {
            let created = try await organizations(
                """
                WITH created AS (
                    INSERT INTO organizations (name, time_zone, liveness) VALUES (\(name), \(timeZone), \(liveness.rawValue))
                    RETURNING \(unescaped: Self.columns)
                ), audit AS (
                    INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                    SELECT id, \(actor), 'organization_created', name FROM created
                )
                SELECT \(unescaped: Self.columns) FROM created
                """)
            guard let organization = created.first else { throw StorageError.noRowReturned }
            return organization
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw StorageError.duplicateOrganization
        }
    }

    public func list() async throws -> [Organization] {
        try await organizations("SELECT \(unescaped: Self.columns) FROM organizations ORDER BY lower(name)")
    }

    /// The organisation's liveness policy (nil: no such organisation).
    public func liveness(of id: UUID) async throws -> LivenessPolicy? {
        let rows = try await database.query("SELECT liveness FROM organizations WHERE id = \(id)", logger: logger)
        return try rows.first(String.self).flatMap(LivenessPolicy.init(rawValue:))
    }

    public func find(_ id: UUID) async throws -> Organization? {
        try await organizations("SELECT \(unescaped: Self.columns) FROM organizations WHERE id = \(id)").first
    }

    /// Changes the organisation's settings (nil leaves one as it is) with an `organization_updated` audit entry in
    /// one statement; nil when there is no such organisation.
    public func update(
        _ id: UUID, timeZone: String?, liveness: LivenessPolicy? = nil, actor: UUID?
    ) async throws -> Organization? {
        try await organizations(
            """
            WITH updated AS (
                UPDATE organizations SET time_zone = coalesce(\(timeZone), time_zone),
                                         liveness = coalesce(\(liveness?.rawValue), liveness)
                WHERE id = \(id)
                RETURNING \(unescaped: Self.columns)
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                SELECT id, \(actor), 'organization_updated', name,
                       jsonb_build_object('time_zone', time_zone, 'liveness', liveness) FROM updated
            )
            SELECT \(unescaped: Self.columns) FROM updated
            """
        ).first
    }

    /// Sets the URL asked before each check-in with the secret its requests are signed with, or removes both (nil),
    /// with an `organization_updated` audit entry; nil when there is no such organisation.
    public func setCheckinValidation(
        _ id: UUID, url: String?, secret: String?, actor: UUID?
    ) async throws -> Organization? {
        try await organizations(
            """
            WITH updated AS (
                UPDATE organizations SET checkin_validation_url = \(url), checkin_validation_secret = \(secret)
                WHERE id = \(id)
                RETURNING \(unescaped: Self.columns)
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                SELECT id, \(actor), 'organization_updated', name,
                       jsonb_build_object('checkin_validation_url', checkin_validation_url) FROM updated
            )
            SELECT \(unescaped: Self.columns) FROM updated
            """
        ).first
    }

    /// The organisation's validation call: its URL and secret (nil: none set).
    public func checkinValidation(of id: UUID) async throws -> (url: String, secret: String)? {
        let rows = try await database.query(
            """
            SELECT checkin_validation_url, checkin_validation_secret FROM organizations
            WHERE id = \(id) AND checkin_validation_url IS NOT NULL
            """, logger: logger)
        return try rows.firstRow((String, String).self)
    }

    /// Whether PostgreSQL, which computes the organisation's days, knows the time zone `name` (IANA, any case).
    public func knowsTimeZone(_ name: String) async throws -> String? {
        let rows = try await database.query(
            "SELECT name FROM pg_timezone_names WHERE lower(name) = lower(\(name)) ORDER BY name = \(name) DESC LIMIT 1",
            logger: logger)
        return try rows.first(String.self)
    }
}
