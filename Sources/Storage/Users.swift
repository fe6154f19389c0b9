import Foundation
import Logging
import PostgresNIO

/// Staff accounts: the super admin's bootstrap, logins, token checks, and the admin's user management.
public struct UserStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
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

    /// Creates the super admin (and its organisation) when none exists, with `passwordHash` (the hash of the
    /// credentials' password, made by the caller before any lock is taken: hashing is slow). Idempotent; concurrent
    /// callers serialise on an advisory lock. Returns true when it created the account. Throws when none exists and
    /// none can be made.
    @discardableResult
    public func ensureSuperAdmin(_ credentials: SuperAdminCredentials?, passwordHash: String?) async throws -> Bool {
        try await database.transaction(logger: logger) { connection in
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
    /// A staff account as the API sees it (never the password hash).
    public struct Account: Sendable, Equatable {
        public var id: UUID
        public var organizationID: UUID
        public var username: String
        public var email: String?
        public var role: String
        public var isSuperAdmin: Bool
        public var disabled: Bool
        public var createdAt: Date
    }

    public static let roles: Set<String> = ["admin", "operator", "kiosk"]

    /// Every account read selects these (the hash last, dropped unless a login asks for it): one decoder for all.
    private static let columns =
        "u.id, u.organization_id, u.username, u.email, u.role, u.is_super_admin, u.disabled, u.created_at, u.password_hash"

    /// The accounts a query selecting `columns` returns, with their password hashes.
    private func accountsWithHashes(_ query: PostgresQuery) async throws -> [(account: Account, passwordHash: String)] {
        var found: [(Account, String)] = []
        let rows = try await database.query(query, logger: logger)
        for (id, org, name, email, role, superAdmin, disabled, created, hash)
            in try rows.decode((UUID, UUID, String, String?, String, Bool, Bool, Date, String).self)
        {
            found.append(
                (
                    Account(
                        id: id, organizationID: org, username: name, email: email, role: role,
                        isSuperAdmin: superAdmin, disabled: disabled, createdAt: created), hash
                ))
        }
        return found
    }

    private func accounts(_ query: PostgresQuery) async throws -> [Account] {
        try await accountsWithHashes(query).map(\.account)
    }

    /// What a login needs: the account and its password hash (nil: no such username).
    public func credentials(username: String) async throws -> (account: Account, passwordHash: String)? {
        try await accountsWithHashes(
            "SELECT \(unescaped: Self.columns) FROM users u WHERE lower(u.username) = lower(\(username))"
        ).first
    }

    /// The password hash of an account (nil: no such account), to check a password given again.
    public func passwordHash(of id: UUID) async throws -> String? {
        try await accountsWithHashes("SELECT \(unescaped: Self.columns) FROM users u WHERE u.id = \(id)").first?
            .passwordHash
    }

    /// The account behind an access token, if it still exists, is not disabled and its session (refresh-token
    /// family) has not been logged out or revoked: checked on every request, so that access ends at once.
    public func activeAccount(id: UUID, session: UUID) async throws -> Account? {
        try await accounts(
            """
            SELECT \(unescaped: Self.columns) FROM users u
            WHERE u.id = \(id) AND NOT u.disabled AND EXISTS (
                SELECT 1 FROM refresh_tokens t
                WHERE t.family_id = \(session) AND t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > now())
            """
        ).first
    }

    /// The organisation's accounts, by username.
    public func list(organization: UUID) async throws -> [Account] {
        try await accounts(
            """
            SELECT \(unescaped: Self.columns) FROM users u
            WHERE u.organization_id = \(organization) ORDER BY lower(u.username)
            """)
    }

    /// One account of the organisation (nil when it does not exist there).
    public func find(_ id: UUID, organization: UUID) async throws -> Account? {
        try await accounts(
            "SELECT \(unescaped: Self.columns) FROM users u WHERE u.id = \(id) AND u.organization_id = \(organization)"
        ).first
    }

    /// Creates an account and its `user_created` audit entry (by `actor`) in one statement; throws
    /// `StorageError.duplicateUsername` when the name is taken (names are unique across organisations: a login names
    /// no organisation) and `.organizationNotFound`.
    public func create(
        organization: UUID, username: String, email: String?, passwordHash: String, role: String, actor: UUID? = nil
    ) async throws -> Account {
        do {
            let rows = try await database.query(
                """
                WITH created AS (
                    INSERT INTO users (organization_id, username, email, password_hash, role)
                    VALUES (\(organization), \(username), \(email), \(passwordHash), \(role)) RETURNING id, organization_id
                ), audit AS (
                    INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                    SELECT organization_id, \(actor), 'user_created', upper(id::text) FROM created
                )
                SELECT id FROM created
                """, logger: logger)
            let id = try rows.single(UUID.self)
            guard let account = try await find(id, organization: organization) else { throw StorageError.noRowReturned }
            return account
        } catch let error as PSQLError {
            switch error.serverInfo?[.sqlState] {
            case PostgresError.Code.uniqueViolation.raw: throw Self.duplicate(error)
            case PostgresError.Code.foreignKeyViolation.raw: throw StorageError.organizationNotFound
            default: throw error
            }
        }
    }

    /// Which unique key a unique violation on `users` broke.
    static func duplicate(_ error: PSQLError) -> any Error {
        switch error.serverInfo?[.constraintName] {
        case "users_email_key": StorageError.duplicateAccountEmail
        case "users_username_key": StorageError.duplicateUsername
        default: error
        }
    }

    public struct AccountChanges: Sendable {
        public var role: String?
        public var email: String?
        public var disabled: Bool?
        public var passwordHash: String?
        /// The session a password change leaves open: the one of the account's owner changing their own password.
        public var keepingSession: UUID?
        public init(
            role: String? = nil, email: String? = nil, disabled: Bool? = nil, passwordHash: String? = nil,
            keepingSession: UUID? = nil
        ) {
            self.role = role
            self.email = email
            self.disabled = disabled
            self.passwordHash = passwordHash
            self.keepingSession = keepingSession
        }
    }

    /// Applies `changes` to an account of the organisation and writes the `user_updated` audit entry (by `actor`) in
    /// one transaction; nil when there is no such account there. Disabling ends the account's sessions; a password
    /// change ends all of them but `changes.keepingSession`.
    public func update(
        _ id: UUID, organization: UUID, _ changes: AccountChanges, actor: UUID? = nil
    ) async throws -> Account? {
        try await Self.refusingDuplicates {
            try await self.applyChanges(id, organization: organization, changes, actor: actor)
        } ? try await find(id, organization: organization) : nil
    }

    private static func refusingDuplicates<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw duplicate(error)
        }
    }

    private func applyChanges(
        _ id: UUID, organization: UUID, _ changes: AccountChanges, actor: UUID?
    ) async throws -> Bool {
        try await database.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE users SET role = coalesce(\(changes.role), role), email = coalesce(\(changes.email), email),
                       disabled = coalesce(\(changes.disabled), disabled),
                       password_hash = coalesce(\(changes.passwordHash), password_hash), updated_at = now()
                WHERE id = \(id) AND organization_id = \(organization) RETURNING id
                """, logger: logger)
            guard try await rows.first(UUID.self) != nil else { return false }
            if changes.passwordHash != nil || changes.disabled == true {
                let kept = changes.disabled == true ? nil : changes.keepingSession
                try await connection.query(
                    """
                    UPDATE refresh_tokens SET revoked_at = now()
                    WHERE user_id = \(id) AND revoked_at IS NULL AND (\(kept)::uuid IS NULL OR family_id <> \(kept))
                    """, logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                VALUES (\(organization), \(actor), 'user_updated', \(id.uuidString))
                """, logger: logger)
            return true
        }
    }

    /// Deletes an account of the organisation (its tokens go with it) and writes its `user_deleted` audit entry (by
    /// `actor`) in one statement; false when there is no such account there.
    public func delete(_ id: UUID, organization: UUID, actor: UUID? = nil) async throws -> Bool {
        let rows = try await database.query(
            """
            WITH deleted AS (
                DELETE FROM users WHERE id = \(id) AND organization_id = \(organization) RETURNING id, organization_id
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                SELECT organization_id, \(actor), 'user_deleted', \(id.uuidString) FROM deleted
            )
            SELECT id FROM deleted
            """, logger: logger)
        return try rows.first(UUID.self) != nil
    }

    /// Records an event that changes no row of its own (a login, a failed login, a logout, a replayed refresh token)
    /// in the audit log. A change to a row is audited by the store method that makes it, in its transaction.
    public func audit(_ action: String, organization: UUID?, actor: UUID?, target: String? = nil) async throws {
        try await database.query(
            """
            INSERT INTO audit_log (organization_id, actor_user_id, action, target)
            VALUES (\(organization), \(actor), \(action), \(target))
            """, logger: logger)
    }
}
