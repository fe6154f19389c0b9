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
        public var createdAt: Date
    }

    /// Creates an organisation and its `organization_created` audit entry (by `actor`) in one statement; throws
    /// `StorageError.duplicateOrganization` when the name (any case) is taken.
    public func create(name: String, actor: UUID? = nil) async throws -> Organization {
        do {
            let rows = try await database.query(
                """
                WITH created AS (
                    INSERT INTO organizations (name) VALUES (\(name)) RETURNING id, name, created_at
                ), audit AS (
                    INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                    SELECT id, \(actor), 'organization_created', name FROM created
                )
                SELECT id, name, created_at FROM created
                """, logger: logger)
            guard let (id, name, created) = try rows.firstRow((UUID, String, Date).self) else {
                throw StorageError.noRowReturned
            }
            return Organization(id: id, name: name, createdAt: created)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw StorageError.duplicateOrganization
        }
    }

    public func list() async throws -> [Organization] {
        var found: [Organization] = []
        let rows = try await database.query("SELECT id, name, created_at FROM organizations ORDER BY lower(name)", logger: logger)
        for (id, name, created) in try rows.decode((UUID, String, Date).self) {
            found.append(Organization(id: id, name: name, createdAt: created))
        }
        return found
    }
}
