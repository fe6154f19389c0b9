import Foundation
import Hummingbird
import Storage

/// `/api/v1/organizations`: the super admin's list and creation of organisations (tenants).
struct OrganizationsController {
    let organizations: OrganizationStore

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
    }

    struct OrganizationView: Encodable {
        var id: UUID
        var name: String
        var createdAt: Date
    }

    struct CreateRequest: Decodable {
        var name: String
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.superAdmin()
        let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
        let name = body.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw Problem.invalidField("name", "1 to 200 characters") }
        let created = try await organizations.create(name: name, actor: actor.id)
        return try JSONResponse.encode(OrganizationView(id: created.id, name: created.name, createdAt: created.createdAt),
                                       status: .created)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.superAdmin()
        let all = try await organizations.list().map { OrganizationView(id: $0.id, name: $0.name, createdAt: $0.createdAt) }
        return try JSONResponse.encode(["organizations": all], status: .ok)
    }
}
