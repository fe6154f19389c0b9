import Foundation
import Logging
import PostgresNIO

extension OrganizationStore {
    /// The organisation an operator names on the command line: by id, else by name (any case); nil when none.
    public func find(idOrName: String) async throws -> Organization? {
        if let id = UUID(uuidString: idOrName) {
            let rows = try await database.query(
                "SELECT id, name, created_at FROM organizations WHERE id = \(id)", logger: logger)
            if let found = try rows.firstRow((UUID, String, Date).self) {
                return Organization(id: found.0, name: found.1, createdAt: found.2)
            }
        }
        let rows = try await database.query(
            "SELECT id, name, created_at FROM organizations WHERE lower(name) = lower(\(idOrName))", logger: logger)
        return try rows.firstRow((UUID, String, Date).self).map { Organization(id: $0.0, name: $0.1, createdAt: $0.2) }
    }

    /// The super admin's organisation, which the command line works in unless told another (nil before the first
    /// start created the super admin).
    public func superAdminOrganization() async throws -> Organization? {
        let rows = try await database.query(
            """
            SELECT o.id, o.name, o.created_at FROM organizations o JOIN users u ON u.organization_id = o.id
            WHERE u.is_super_admin ORDER BY u.created_at LIMIT 1
            """, logger: logger)
        return try rows.firstRow((UUID, String, Date).self).map { Organization(id: $0.0, name: $0.1, createdAt: $0.2) }
    }
}
