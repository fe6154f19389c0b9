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
