import Foundation
import Logging
import PostgresNIO

extension OrganizationStore {
    /// The organisation an operator names on the command line: by id, else by name (any case); nil when none.
    public func find(idOrName: String) async throws -> Organization? {
        if let id = UUID(uuidString: idOrName), let found = try await find(id) { return found }
        return try await organizations(
            "SELECT \(unescaped: Self.columns) FROM organizations WHERE lower(name) = lower(\(idOrName))"
        ).first
    }

    /// The super admin's organisation, which the command line works in unless told another (nil before the first
    /// start created the super admin).
    public func superAdminOrganization() async throws -> Organization? {
        let columns = Self.columns.split(separator: ", ").map { "o." + $0 }.joined(separator: ", ")
        return try await organizations(
            """
            SELECT \(unescaped: columns) FROM organizations o JOIN users u ON u.organization_id = o.id
            WHERE u.is_super_admin ORDER BY u.created_at LIMIT 1
            """
        ).first
    }
}
