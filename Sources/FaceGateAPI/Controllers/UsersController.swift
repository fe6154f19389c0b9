import FaceGateRuntime
import Foundation
import Hummingbird
import Storage

/// `/api/v1/users` (admins, within their organisation; the super admin may create accounts in any organisation).
struct UsersController {
    let users: UserStore
    let bcryptCost: UInt8
    /// Checks of `current_password` per account (`LOGIN_RATE_LIMIT_PER_MINUTE`): guessing it is guessing a password.
    let passwordChecks: TokenBucketLimiter
    /// Accounts refused for a taken username, per organisation: usernames are unique across organisations (a login
    /// names none), so a refusal says that the name exists somewhere; this bounds how fast an admin can ask.
    let usernameRefusals: TokenBucketLimiter

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: show)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
    }

    struct UserView: Encodable {
        var id: UUID
        var organizationId: UUID
        var username: String
        var email: String?
        var role: String
        /// Shown to super admins only: a tenant admin is not told which account holds every organisation's keys.
        var isSuperAdmin: Bool?
        var disabled: Bool
        var createdAt: Date

        init(_ account: UserStore.Account, shownTo viewer: UserStore.Account) {
            id = account.id
            organizationId = account.organizationID
            username = account.username
            email = account.email
            role = account.role
            isSuperAdmin = viewer.isSuperAdmin ? account.isSuperAdmin : nil
            disabled = account.disabled
            createdAt = account.createdAt
        }
    }

    struct CreateRequest: Decodable {
        var username: String
        var password: String
        var role: String
        var email: String?
        var organizationId: UUID?
        enum CodingKeys: String, CodingKey { case username, password, role, email, organizationId = "organization_id" }
    }

    struct UpdateRequest: Decodable {
        var role: String?
        var email: String?
        var disabled: Bool?
        var password: String?
        /// Needed to change one's own password (not another's): a stolen access token must not become the account.
        var currentPassword: String?
        enum CodingKeys: String, CodingKey {
            case role, email, disabled, password, currentPassword = "current_password"
        }
    }

    static func validate(username: String? = nil, password: String? = nil, role: String? = nil, email: String? = nil)
        throws
    {
        if let username, username.isEmpty || username.count > 100 || username.contains(where: \.isWhitespace) {
            throw Problem.invalidField("username", "1 to 100 characters without spaces")
        }
        // bcrypt reads the first 72 bytes only: a longer password would be accepted with anything after them.
        if let password, password.count < 12 || password.utf8.count > 72 {
            throw Problem.invalidField("password", "at least 12 characters and at most 72 bytes (UTF-8)")
        }
        if let role, Role(rawValue: role) == nil {
            throw Problem.invalidField("role", "one of admin, operator, kiosk")
        }
        if let email, email.count > 320 || !email.contains("@") {
            throw Problem.invalidField("email", "an email address")
        }
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
        try Self.validate(username: body.username, password: body.password, role: body.role, email: body.email)
        let organization = body.organizationId ?? actor.organizationID
        guard organization == actor.organizationID || actor.isSuperAdmin else {
            throw Problem(.forbidden, detail: "only the super admin may create accounts in other organisations")
        }
        // Once the organisation has used up its refusals, every creation waits (429), taken name or free: the answer
        // then tells nothing about the name.
        let refusals = "org:\(actor.organizationID)"
        // Taken before the attempt (requests at once cannot all pass a check made before any refusal is counted),
        // given back when the name was not refused.
        let decision = usernameRefusals.take(refusals)
        guard decision.allowed else {
            throw Problem.rateLimited(decision, what: "accounts refused for a taken username")
        }
        let account: UserStore.Account
        do {
            let hash = try await hashPassword(body.password, cost: bcryptCost)
            account = try await users.create(
                organization: organization, username: body.username, email: body.email, passwordHash: hash,
                role: body.role, actor: actor.id)
        } catch StorageError.duplicateUsername {
            throw StorageError.duplicateUsername
        } catch {
            usernameRefusals.refund(refusals)
            throw error
        }
        usernameRefusals.refund(refusals)
        return try JSONResponse.encode(UserView(account, shownTo: actor), status: .created)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let accounts = try await users.list(organization: actor.organizationID)
        return try JSONResponse.encode(["users": accounts.map { UserView($0, shownTo: actor) }], status: .ok)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "user")
        guard let account = try await users.find(id, organization: actor.organizationID) else {
            throw Problem.notFound("user")
        }
        return try JSONResponse.encode(UserView(account, shownTo: actor), status: .ok)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "user")
        let body = try await request.decodeJSON(as: UpdateRequest.self, context: context)
        try Self.validate(password: body.password, role: body.role, email: body.email)
        if id == actor.id && (body.disabled == true || (body.role.map { $0 != actor.role } ?? false)) {
            throw Problem(.cannotChangeOwnAccess, detail: "you cannot disable or demote yourself")
        }
        let target = try await changeableAccount(id, by: actor)
        if target.isSuperAdmin, let role = body.role, role != Role.admin.rawValue {
            throw Problem(.superAdminIsAdmin)
        }
        var changes = UserStore.AccountChanges(role: body.role, email: body.email, disabled: body.disabled)
        if let password = body.password {
            if id == actor.id {
                try await checkCurrentPassword(body.currentPassword, of: actor)
                // The account's other sessions end; the one changing its password goes on.
                changes.keepingSession = context.session
            }
            changes.passwordHash = try await hashPassword(password, cost: bcryptCost)
        }
        guard let account = try await users.update(id, organization: actor.organizationID, changes, actor: actor.id)
        else {
            throw Problem.notFound("user")
        }
        return try JSONResponse.encode(UserView(account, shownTo: actor), status: .ok)
    }

    /// One's own password changes only with the current one given too: 400 `invalid_field` without it, 403
    /// `wrong_password` (audited as `password_change_refused`) when it is not the account's; the checks are limited
    /// per account. An admin resetting another account's password gives none.
    private func checkCurrentPassword(_ given: String?, of actor: UserStore.Account) async throws {
        guard let given else {
            throw Problem.invalidField("current_password", "required to change your own password")
        }
        let decision = passwordChecks.take("current_password:\(actor.id)")
        guard decision.allowed else { throw Problem.rateLimited(decision, what: "password checks") }
        let hash = try await users.passwordHash(of: actor.id)
        guard let hash, try await verifyPassword(given, hash: hash) else {
            try await users.audit(
                "password_change_refused", organization: actor.organizationID, actor: actor.id,
                target: actor.id.uuidString)
            throw Problem(.wrongPassword)
        }
    }

    /// The account `id` of the actor's organisation, if the actor may change it: nobody changes, disables or deletes an
    /// account of higher privilege, so the super admin is changed only by a super admin (itself or another).
    private func changeableAccount(_ id: UUID, by actor: UserStore.Account) async throws -> UserStore.Account {
        guard let account = try await users.find(id, organization: actor.organizationID) else {
            throw Problem.notFound("user")
        }
        if account.isSuperAdmin && !actor.isSuperAdmin {
            throw Problem(.forbidden, detail: "only a super admin may change a super admin's account")
        }
        return account
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.account(in: [.admin])
        let id = try uuidParameter("id", of: context, what: "user")
        guard id != actor.id else {
            throw Problem(.cannotChangeOwnAccess, detail: "you cannot delete yourself")
        }
        _ = try await changeableAccount(id, by: actor)
        guard try await users.delete(id, organization: actor.organizationID, actor: actor.id) else {
            throw Problem.notFound("user")
        }
        return Response(status: .noContent)
    }
}
