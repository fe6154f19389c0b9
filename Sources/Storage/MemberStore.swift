import Foundation
import Logging
import PostgresNIO

/// Members of an organisation (the people whose faces are enrolled).
public struct MemberStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates a member; throws `StorageError.duplicateExternalID` when the organisation already has that external id.
    public func create(
        organization: UUID, name: String, externalID: String? = nil, email: String? = nil
    ) async throws -> UUID {
        do {
            let rows = try await client.query(
                """
                INSERT INTO members (organization_id, name, external_id, email)
                VALUES (\(organization), \(name), \(externalID), \(email)) RETURNING id
                """, logger: logger)
            return try await rows.single(UUID.self)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw StorageError.duplicateExternalID
        }
    }

    /// Deletes the member and every one of its faces (embeddings and thumbnails) for good, in one transaction,
    /// and records the erasure in the audit log. Returns the faces removed, or nil when there was no such member.
    public func delete(member: UUID, organization: UUID, actor: UUID? = nil) async throws -> [FaceRef]? {
        try await client.transaction(logger: logger) { connection in
            var removed: [FaceRef] = []
            let faces = try await connection.query(
                "DELETE FROM faces WHERE member_id = \(member) AND organization_id = \(organization) RETURNING id",
                logger: logger)
            for try await id in faces.decode(UUID.self) { removed.append(FaceRef(face: id, member: member)) }
            let deleted = try await connection.query(
                "DELETE FROM members WHERE id = \(member) AND organization_id = \(organization) RETURNING id",
                logger: logger)
            guard try await deleted.first(UUID.self) != nil else { return nil }
            try await connection.query(
                """
                INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                VALUES (\(organization), \(actor), 'member_erased', \(member.uuidString),
                        jsonb_build_object('faces_erased', \(removed.count)))
                """, logger: logger)
            return removed
        }
    }
}

/// Organisations (tenants): every member, face and staff account belongs to exactly one.
public struct OrganizationStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public struct Organization: Sendable, Equatable {
        public var id: UUID
        public var name: String
        public var createdAt: Date
    }

    /// Creates an organisation; throws `StorageError.duplicateOrganization` when the name (any case) is taken.
    public func create(name: String) async throws -> Organization {
        do {
            let rows = try await client.query(
                "INSERT INTO organizations (name) VALUES (\(name)) RETURNING id, name, created_at", logger: logger)
            guard let (id, name, created) = try await rows.firstRow((UUID, String, Date).self) else {
                throw StorageError.noRowReturned
            }
            return Organization(id: id, name: name, createdAt: created)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw StorageError.duplicateOrganization
        }
    }

    public func list() async throws -> [Organization] {
        var found: [Organization] = []
        let rows = try await client.query("SELECT id, name, created_at FROM organizations ORDER BY lower(name)", logger: logger)
        for try await (id, name, created) in rows.decode((UUID, String, Date).self) {
            found.append(Organization(id: id, name: name, createdAt: created))
        }
        return found
    }
}
