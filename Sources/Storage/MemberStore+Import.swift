import Foundation
import Logging
import PostgresNIO

extension MemberStore {
    /// What `importMember` did to the member with the row's external id.
    public enum ImportChange: String, Sendable, Equatable {
        case created, updated, unchanged
    }

    /// A PIN an import row gives: whether a stored hash already stands for it, and its new hash.
    public struct ImportedPIN: Sendable {
        public var keeps: @Sendable (_ hash: String) async throws -> Bool
        public var hash: @Sendable () async throws -> String

        public init(
            keeps: @escaping @Sendable (String) async throws -> Bool,
            hash: @escaping @Sendable () async throws -> String
        ) {
            self.keeps = keeps
            self.hash = hash
        }
    }

    /// Makes the organisation's member with `externalID` what an import row says (`facegate import members`): creates
    /// it, or sets its name, email and — when given — metadata, membership status, last day and PIN when any of them
    /// differs (metadata compared as JSON values, not as text; a PIN by checking the stored hash against it), each change with its `member_created` / `member_updated` audit entry
    /// (by `actor`; nil: the service itself) in one transaction. A nil `email` clears it. Throws
    /// `StorageError.duplicateEmail` when another member of the organisation has the email (and `.duplicateExternalID`
    /// when another import created the member at the same moment).
    ///
    /// `dryRun`: the same statements, rolled back: what would change, refused as it would be, nothing written (the id
    /// of a member that would be created exists nowhere).
    public func importMember(
        organization: UUID, externalID: String, name: String, email: String?, metadata: String?,
        status: String? = nil, validUntil: String?? = nil, pin: ImportedPIN? = nil, actor: UUID?, dryRun: Bool = false
    ) async throws -> (id: UUID, change: ImportChange) {
        let logger = logger
        let setsValidUntil = validUntil != nil, newValidUntil = validUntil ?? nil
        do {
            return try await database.transaction(logger: logger) { connection in
                let found = try await connection.query(
                    """
                    SELECT id, name = \(name) AND email IS NOT DISTINCT FROM \(email)::text
                               AND metadata = coalesce(\(metadata)::jsonb, metadata)
                               AND status = coalesce(\(status), status)
                               AND valid_until IS NOT DISTINCT FROM
                                   (CASE WHEN \(setsValidUntil) THEN \(newValidUntil)::date ELSE valid_until END),
                           pin_hash
                    FROM members WHERE organization_id = \(organization) AND external_id = \(externalID)
                    FOR UPDATE
                    """, logger: logger
                ).firstRow((UUID, Bool, String?).self)
                // The PIN's new hash, unless the member's hash already stands for it.
                var pinHash: String?
                if let pin {
                    let kept = if let stored = found?.2 { try await pin.keeps(stored) } else { false }
                    if !kept { pinHash = try await pin.hash() }
                }
                let outcome: ImportOutcome
                if let found {
                    let (id, same, _) = found
                    if same && pinHash == nil {
                        outcome = ImportOutcome(id: id, change: .unchanged)
                    } else {
                        try await connection.query(
                            """
                            UPDATE members SET name = \(name), email = \(email)::text,
                                   metadata = coalesce(\(metadata)::jsonb, metadata), status = coalesce(\(status), status),
                                   valid_until = CASE WHEN \(setsValidUntil) THEN \(newValidUntil)::date ELSE valid_until END,
                                   pin_hash = coalesce(\(pinHash), pin_hash),
                                   pin_failures = CASE WHEN \(pinHash)::text IS NULL THEN pin_failures ELSE 0 END,
                                   pin_failures_since = CASE WHEN \(pinHash)::text IS NULL THEN pin_failures_since END,
                                   pin_locked_at = CASE WHEN \(pinHash)::text IS NULL THEN pin_locked_at END,
                                   updated_at = now()
                            WHERE id = \(id)
                            """, logger: logger)
                        try await connection.query(
                            """
                            INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                            VALUES (\(organization), \(actor), 'member_updated', \(id.uuidString),
                                    jsonb_build_object('source', 'import'))
                            """, logger: logger)
                        outcome = ImportOutcome(id: id, change: .updated)
                    }
                } else {
                    let id = try await connection.query(
                        """
                        INSERT INTO members (organization_id, name, external_id, email, metadata, status, valid_until,
                                             pin_hash)
                        VALUES (\(organization), \(name), \(externalID), \(email)::text,
                                coalesce(\(metadata)::jsonb, '{}'::jsonb), coalesce(\(status), 'active'),
                                \(newValidUntil)::date, \(pinHash))
                        RETURNING id
                        """, logger: logger
                    ).single(UUID.self)
                    try await connection.query(
                        """
                        INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                        VALUES (\(organization), \(actor), 'member_created', \(id.uuidString),
                                jsonb_build_object('source', 'import'))
                        """, logger: logger)
                    outcome = ImportOutcome(id: id, change: .created)
                }
                // Thrown to roll back; caught below.
                if dryRun { throw outcome }
                return outcome
            }.pair
        } catch let outcome as ImportOutcome {
            return outcome.pair
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw Self.duplicate(error)
        }
    }
}

/// What `importMember` did; an error too, so that a dry run can roll its transaction back and still say it.
private struct ImportOutcome: Error {
    let id: UUID
    let change: MemberStore.ImportChange

    var pair: (id: UUID, change: MemberStore.ImportChange) { (id, change) }
}
