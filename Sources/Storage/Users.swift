import Foundation
import HummingbirdBcrypt
import Logging
import PostgresNIO

/// Staff accounts. For now: creating the super admin on first start; the API issue adds the rest.
public struct UserStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public struct SuperAdminCredentials: Sendable {
        public var username: String
        public var password: String
        public var email: String?
        public init(username: String, password: String, email: String?) {
            self.username = username
            self.password = password
            self.email = email
        }
    }

    /// Creates the super admin (and its organisation) when none exists. Idempotent; concurrent callers serialise on
    /// an advisory lock. Returns true when it created the account. Throws when none exists and none can be made.
    @discardableResult
    public func ensureSuperAdmin(_ credentials: SuperAdminCredentials?, bcryptCost: UInt8 = 12) async throws -> Bool {
        // Hash before taking the lock: bcrypt is slow and runs off the cooperative pool.
        var hash: String?
        if let credentials { hash = try await hashPassword(credentials.password, cost: bcryptCost) }
        let passwordHash = hash
        return try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Migrator.advisoryLockKey + 1))", logger: logger)
            let existing = try await connection.query("SELECT count(*) FROM users WHERE is_super_admin", logger: logger)
            for try await count in existing.decode(Int.self) where count > 0 { return false }
            guard let credentials, let hash = passwordHash else { throw StorageError.missingSuperAdminCredentials }
            let organizationID = UUID()
            try await connection.query(
                "INSERT INTO organizations (id, name) VALUES (\(organizationID), 'Default') ON CONFLICT DO NOTHING",
                logger: logger)
            try await connection.query(
                """
                INSERT INTO users (organization_id, username, email, password_hash, role, is_super_admin)
                SELECT id, \(credentials.username), \(credentials.email), \(hash), 'admin', true
                FROM organizations WHERE lower(name) = 'default'
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO audit_log (organization_id, action, target)
                SELECT organization_id, 'super_admin_created', username FROM users WHERE is_super_admin
                """, logger: logger)
            logger.notice("created the super admin", metadata: ["username": "\(credentials.username)"])
            return true
        }
    }
}

extension UserStore {
    /// A staff account as the API sees it.
    public struct Account: Sendable, Equatable {
        public var id: UUID
        public var organizationID: UUID
        public var username: String
        public var email: String?
        public var role: String
        public var isSuperAdmin: Bool
    }

    /// What a login needs: the account, its password hash and whether it is disabled (nil: no such username).
    public func credentials(username: String) async throws -> (account: Account, passwordHash: String, disabled: Bool)? {
        let rows = try await client.query(
            """
            SELECT id, organization_id, username, email, role, is_super_admin, password_hash, disabled FROM users
            WHERE lower(username) = lower(\(username))
            """, logger: logger)
        for try await (id, org, name, email, role, superAdmin, hash, disabled)
            in rows.decode((UUID, UUID, String, String?, String, Bool, String, Bool).self) {
            return (Account(id: id, organizationID: org, username: name, email: email, role: role,
                            isSuperAdmin: superAdmin), hash, disabled)
        }
        return nil
    }

    /// The account behind an access token, if it still exists, is not disabled and its session (refresh-token
    /// family) has not been logged out or revoked: checked on every request, so that access ends at once.
    public func activeAccount(id: UUID, session: UUID) async throws -> Account? {
        let rows = try await client.query(
            """
            SELECT u.id, u.organization_id, u.username, u.email, u.role, u.is_super_admin FROM users u
            WHERE u.id = \(id) AND NOT u.disabled AND EXISTS (
                SELECT 1 FROM refresh_tokens t
                WHERE t.family_id = \(session) AND t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > now())
            """, logger: logger)
        for try await (id, org, name, email, role, superAdmin)
            in rows.decode((UUID, UUID, String, String?, String, Bool).self) {
            return Account(id: id, organizationID: org, username: name, email: email, role: role, isSuperAdmin: superAdmin)
        }
        return nil
    }

    /// Records a security-relevant action in the audit log.
    public func audit(_ action: String, organization: UUID?, actor: UUID?, target: String? = nil) async throws {
        try await client.query(
            """
            INSERT INTO audit_log (organization_id, actor_user_id, action, target)
            VALUES (\(organization), \(actor), \(action), \(target))
            """, logger: logger)
    }
}

/// bcrypt on a dedicated thread, never on the cooperative pool or an event loop.
public func hashPassword(_ password: String, cost: UInt8 = 12) async throws -> String {
    try await runBlocking { Bcrypt.hash(password, cost: cost) }
}

public func verifyPassword(_ password: String, hash: String) async throws -> Bool {
    try await runBlocking { Bcrypt.verify(password, hash: hash) }
}

/// Runs CPU-bound work on NIO's blocking thread pool and awaits it.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive { work() }
}
