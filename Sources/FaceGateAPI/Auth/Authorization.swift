import Foundation
import Storage

/// Who may do what: `admin` everything in its organisation (the super admin also manages organisations),
/// `operator` the front desk (members, faces, check-ins, history), `kiosk` check-ins only.
enum Role: String, CaseIterable {
    case admin, `operator`, kiosk
}

extension AppRequestContext {
    /// The signed-in account when its role is one of `roles`: 401 without a token, 403 with another role.
    func account(in roles: Set<Role>) throws -> UserStore.Account {
        let account = try account()
        guard let role = Role(rawValue: account.role), roles.contains(role) else {
            throw Problem(.forbidden, detail: "the \(account.role) role may not do this")
        }
        return account
    }

    func superAdmin() throws -> UserStore.Account {
        let account = try account()
        guard account.isSuperAdmin else {
            throw Problem(.forbidden, detail: "only the super admin may do this")
        }
        return account
    }
}

extension Problem {
    /// A request whose fields are present but not acceptable.
    static func invalidField(_ name: String, _ detail: String) -> Problem {
        Problem(.invalidField, detail: "\(name): \(detail)")
    }

    static func notFound(_ what: String) -> Problem {
        Problem(.notFound, detail: "no such \(what)")
    }
}
