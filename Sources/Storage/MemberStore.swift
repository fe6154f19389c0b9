import Foundation
import Logging
import PostgresNIO

/// Members of an organisation (the people whose faces are enrolled).
public struct MemberStore: Sendable {
    let database: Database
    let logger: Logger
    /// With a space, a member's face count is of the photos that model has a face of (the ones check-ins can match).
    let space: EmbeddingSpace?

    public init(database: Database, logger: Logger, space: EmbeddingSpace? = nil) {
        self.database = database
        self.logger = logger
        self.space = space
    }

    public struct Member: Sendable, Equatable {
        public var id: UUID
        public var name: String
        public var externalID: String?
        public var email: String?
        /// The member's metadata as JSON text (an object).
        public var metadata: String
        /// The membership: `active`, `paused` or `cancelled` (`MembershipStatus`).
        public var status: String
        /// The membership's last day (`YYYY-MM-DD`, ending at midnight in the organisation's time zone), if it ends.
        public var validUntil: String?
        /// Whether the member has a PIN (the PIN itself is never read back), and whether it is locked after too many
        /// wrong tries.
        public var hasPIN: Bool
        public var pinLocked: Bool
        public var faceCount: Int
        public var createdAt: Date
        public var updatedAt: Date
    }

    /// The selected columns; the space's names are the service's own constants, quoted as SQL literals.
    private var columns: String {
        func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
        let filter =
            space.map { " AND f.model = \(literal($0.model)) AND f.model_version = \(literal($0.version))" } ?? ""
        return """
            m.id, m.name, m.external_id, m.email, m.metadata::text, m.status, m.valid_until::text,
            m.pin_hash IS NOT NULL, m.pin_locked_at IS NOT NULL,
            (SELECT count(DISTINCT f.photo_digest) FROM faces f WHERE f.member_id = m.id\(filter)), m.created_at,
            m.updated_at
            """
    }

    private func members(_ query: PostgresQuery) async throws -> [Member] {
        var found: [Member] = []
        let rows = try await database.query(query, logger: logger)
        for (id, name, externalID, email, metadata, status, validUntil, hasPIN, pinLocked, faces, created, updated)
            in try rows.decode(
                (UUID, String, String?, String?, String, String, String?, Bool, Bool, Int, Date, Date).self)
        {
            found.append(
                Member(
                    id: id, name: name, externalID: externalID, email: email, metadata: metadata,
                    status: status, validUntil: validUntil, hasPIN: hasPIN, pinLocked: pinLocked,
                    faceCount: faces, createdAt: created, updatedAt: updated))
        }
        return found
    }

    /// Creates a member and its `member_created` audit entry (by `auditedBy`; nil: the service itself) in the same
    /// statement (both or neither); throws `StorageError.duplicateExternalID` when the organisation already has that
    /// external id (or that email).
    public func create(
        organization: UUID, name: String, externalID: String? = nil, email: String? = nil, metadata: String = "{}",
        status: String = MembershipStatus.active.rawValue, validUntil: String? = nil, pinHash: String? = nil,
        auditedBy actor: UUID? = nil
    ) async throws -> UUID {
        do {
            let rows = try await database.query(
                """
                WITH member AS (
                    INSERT INTO members (organization_id, name, external_id, email, metadata, status, valid_until,
                                         pin_hash)
                    VALUES (\(organization), \(name), \(externalID), \(email), \(metadata)::jsonb, \(status),
                            \(validUntil)::date, \(pinHash))
                    RETURNING id
                ), audit AS (
                    INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                    SELECT \(organization), \(actor), 'member_created', upper(id::text) FROM member
                )
                SELECT id FROM member
                """, logger: logger)
            return try rows.single(UUID.self)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw Self.duplicate(error)
        }
    }

    static func duplicate(_ error: PSQLError) -> StorageError {
        error.serverInfo?[.constraintName] == "members_email_key" ? .duplicateEmail : .duplicateExternalID
    }

    public func find(_ id: UUID, organization: UUID) async throws -> Member? {
        try await members(
            "SELECT \(unescaped: columns) FROM members m WHERE m.id = \(id) AND m.organization_id = \(organization)"
        ).first
    }

    /// Name and external id of the members among `ids` that exist in the organisation, in one query.
    public func names(of ids: [UUID], organization: UUID) async throws -> [UUID: (name: String, externalID: String?)] {
        guard !ids.isEmpty else { return [:] }
        var found: [UUID: (name: String, externalID: String?)] = [:]
        let rows = try await database.query(
            "SELECT id, name, external_id FROM members WHERE id = ANY(\(ids)) AND organization_id = \(organization)",
            logger: logger)
        for (id, name, externalID) in try rows.decode((UUID, String, String?).self) { found[id] = (name, externalID) }
        return found
    }

    /// Members whose name, external id or email contains `query` (any case), by name then id, after `cursor` (the
    /// last name and id of the previous page): keyset paging that stays stable while members are added.
    public func list(
        organization: UUID, matching query: String?, limit: Int, after cursor: (name: String, id: UUID)?
    ) async throws -> [Member] {
        let pattern = query.map {
            "%"
                + $0.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
        }
        return try await members(
            """
            SELECT \(unescaped: columns) FROM members m
            WHERE m.organization_id = \(organization)
              AND (\(pattern)::text IS NULL OR m.name ILIKE \(pattern) OR m.external_id ILIKE \(pattern)
                   OR m.email ILIKE \(pattern))
              AND (\(cursor?.name)::text IS NULL OR (lower(m.name), m.id) > (\(cursor?.name), \(cursor?.id)))
            ORDER BY lower(m.name), m.id LIMIT \(limit)
            """)
    }

    /// Changes the given fields (nil leaves a field as it is; `validUntil` or `pinHash` `.some(nil)` removes the end
    /// date or the PIN; a new PIN, or `unlockPIN`, lifts a PIN lock and forgets the failures) and writes the
    /// `member_updated` audit entry (by `actor`; `pin_unlocked` too when a lock is lifted) in one statement; nil when
    /// there is no such member there.
    public func update(
        _ id: UUID, organization: UUID, name: String?, externalID: String?, email: String?, metadata: String?,
        status: String? = nil, validUntil: String?? = nil, pinHash: String?? = nil, unlockPIN: Bool = false,
        actor: UUID? = nil
    ) async throws -> Member? {
        let changesValidUntil = validUntil != nil, changesPIN = pinHash != nil, resetsPIN = pinHash != nil || unlockPIN
        do {
            let rows = try await database.query(
                """
                WITH updated AS (
                    UPDATE members SET name = coalesce(\(name), name), external_id = coalesce(\(externalID), external_id),
                           email = coalesce(\(email), email), metadata = coalesce(\(metadata)::jsonb, metadata),
                           status = coalesce(\(status), status),
                           valid_until = CASE WHEN \(changesValidUntil) THEN \(validUntil ?? nil)::date ELSE valid_until END,
                           pin_hash = CASE WHEN \(changesPIN) THEN \(pinHash ?? nil) ELSE pin_hash END,
                           pin_failures = CASE WHEN \(resetsPIN) THEN 0 ELSE pin_failures END,
                           pin_failures_since = CASE WHEN \(resetsPIN) THEN NULL ELSE pin_failures_since END,
                           pin_locked_at = CASE WHEN \(resetsPIN) THEN NULL ELSE pin_locked_at END,
                           updated_at = now()
                    WHERE id = \(id) AND organization_id = \(organization)
                    RETURNING id, (SELECT pin_locked_at FROM members WHERE id = \(id)) IS NOT NULL AND \(resetsPIN) AS unlocked
                ), audit AS (
                    INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                    SELECT \(organization), \(actor), action, \(id.uuidString)
                    FROM updated, LATERAL (VALUES ('member_updated', true), ('pin_unlocked', updated.unlocked)) a(action, wanted)
                    WHERE wanted
                )
                SELECT id FROM updated
                """, logger: logger)
            guard try rows.first(UUID.self) != nil else { return nil }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw Self.duplicate(error)
        }
        return try await find(id, organization: organization)
    }

    /// Whether the member may come in now: their name, and why not when their membership is paused, cancelled or
    /// past its last day in the organisation's time zone; nil when there is no such member there.
    public func admission(of id: UUID, organization: UUID) async throws -> Admission? {
        let rows = try await database.query(
            """
            SELECT m.name, m.external_id, m.status,
                   m.valid_until IS NOT NULL AND m.valid_until < (now() AT TIME ZONE o.time_zone)::date
            FROM members m JOIN organizations o ON o.id = m.organization_id
            WHERE m.id = \(id) AND m.organization_id = \(organization)
            """, logger: logger)
        for (name, externalID, status, expired) in try rows.decode((String, String?, String, Bool).self) {
            let inactive: InactiveReason? =
                switch MembershipStatus(rawValue: status) {
                case .paused: .paused
                case .cancelled: .cancelled
                case .active, nil: expired ? .expired : nil
                }
            return Admission(name: name, externalID: externalID, inactive: inactive)
        }
        return nil
    }

    /// Of `ids`, the members of the organisation whose PIN can be asked for (set and not locked).
    public func withUsablePIN(_ ids: [UUID], organization: UUID) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let rows = try await database.query(
            """
            SELECT id FROM members
            WHERE id = ANY(\(ids)) AND organization_id = \(organization)
              AND pin_hash IS NOT NULL AND pin_locked_at IS NULL
            """, logger: logger)
        return Set(try rows.map { try $0.decode(UUID.self) })
    }

    /// Takes one PIN try of each of `ids` whose PIN can be asked for, before it is checked, so that tries at once are
    /// counted one by one: the tries of the hour since the first one are counted, and a try past `lockAfter` locks the
    /// PIN instead (audited `pin_locked`) and is not given. Returns the hashes to check the tries against.
    public func takePINTries(
        _ ids: [UUID], organization: UUID, lockAfter: Int, actor: UUID?
    ) async throws -> [UUID: String] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await database.query(
            """
            WITH counted AS (
                UPDATE members SET
                    pin_failures = CASE WHEN pin_failures_since > now() - interval '1 hour' THEN pin_failures + 1 ELSE 1 END,
                    pin_failures_since = CASE WHEN pin_failures_since > now() - interval '1 hour' THEN pin_failures_since
                                              ELSE now() END,
                    pin_locked_at = CASE WHEN (CASE WHEN pin_failures_since > now() - interval '1 hour'
                                                    THEN pin_failures + 1 ELSE 1 END) > \(lockAfter) THEN now() END
                WHERE id = ANY(\(ids)) AND organization_id = \(organization) AND pin_hash IS NOT NULL
                  AND pin_locked_at IS NULL
                RETURNING id, pin_hash, pin_locked_at IS NOT NULL AS locked
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                SELECT \(organization), \(actor), 'pin_locked', upper(id::text),
                       jsonb_build_object('failures', \(lockAfter)) FROM counted WHERE locked
            )
            SELECT id, pin_hash FROM counted WHERE NOT locked
            """, logger: logger)
        return Dictionary(uniqueKeysWithValues: try rows.decode((UUID, String).self).map { ($0.0, $0.1) })
    }

    /// After a wrong PIN: locks the PINs among `ids` whose tries of the hour reached `lockAfter` (audited
    /// `pin_locked`). Returns the members locked now.
    public func lockPINs(_ ids: [UUID], organization: UUID, lockAfter: Int, actor: UUID?) async throws -> [UUID] {
        guard !ids.isEmpty else { return [] }
        let rows = try await database.query(
            """
            WITH locked AS (
                UPDATE members SET pin_locked_at = now()
                WHERE id = ANY(\(ids)) AND organization_id = \(organization) AND pin_locked_at IS NULL
                  AND pin_failures >= \(lockAfter) AND pin_failures_since > now() - interval '1 hour'
                RETURNING id
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                SELECT \(organization), \(actor), 'pin_locked', upper(id::text),
                       jsonb_build_object('failures', \(lockAfter)) FROM locked
            )
            SELECT id FROM locked
            """, logger: logger)
        return try rows.map { try $0.decode(UUID.self) }
    }

    /// Gives back the tries taken of `ids` for a PIN that turned out to be another candidate's.
    public func giveBackPINTries(_ ids: [UUID], organization: UUID) async throws {
        guard !ids.isEmpty else { return }
        _ = try await database.query(
            """
            UPDATE members SET pin_failures = greatest(pin_failures - 1, 0)
            WHERE id = ANY(\(ids)) AND organization_id = \(organization) AND pin_locked_at IS NULL
            """, logger: logger)
    }

    /// Forgets the member's wrong PIN tries (after a right one).
    public func resetPINFailures(_ id: UUID, organization: UUID) async throws {
        _ = try await database.query(
            """
            UPDATE members SET pin_failures = 0, pin_failures_since = NULL
            WHERE id = \(id) AND organization_id = \(organization) AND pin_failures > 0
            """, logger: logger)
    }

    /// Takes one try of checking in with the member's number (nil: an unknown number, for the same work), counted
    /// before the face is compared: the tries of the hour since the first, at most `limit` (the one past it is
    /// refused, audited `member_code_locked` once). Whether the try may go ahead.
    public func takeCodeTry(_ id: UUID?, organization: UUID, limit: Int, actor: UUID?) async throws -> Bool {
        let rows = try await database.query(
            """
            WITH counted AS (
                UPDATE members SET
                    code_tries = CASE WHEN code_tries_since > now() - interval '1 hour' THEN code_tries + 1 ELSE 1 END,
                    code_tries_since = CASE WHEN code_tries_since > now() - interval '1 hour' THEN code_tries_since
                                            ELSE now() END
                WHERE id = \(id)::uuid AND organization_id = \(organization)
                RETURNING id, code_tries
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                SELECT \(organization), \(actor), 'member_code_locked', upper(id::text),
                       jsonb_build_object('tries', \(limit)) FROM counted WHERE code_tries = \(limit) + 1
            )
            SELECT code_tries <= \(limit) FROM counted
            """, logger: logger)
        return try rows.first(Bool.self) ?? false
    }

    /// Forgets the tries of the member's number (it was theirs, with their face).
    public func resetCodeTries(_ id: UUID, organization: UUID) async throws {
        _ = try await database.query(
            """
            UPDATE members SET code_tries = 0, code_tries_since = NULL
            WHERE id = \(id) AND organization_id = \(organization) AND code_tries > 0
            """, logger: logger)
    }

    /// The member whose `external_id` is `code` in the organisation (a member number typed at the kiosk).
    public func member(withCode code: String, organization: UUID) async throws -> UUID? {
        let rows = try await database.query(
            "SELECT id FROM members WHERE organization_id = \(organization) AND external_id = \(code)", logger: logger)
        return try rows.first(UUID.self)
    }

    /// Deletes the member and every one of its faces (embeddings and thumbnails) for good, in one transaction,
    /// and records the erasure in the audit log. Every kept answer to an `Idempotency-Key` of the organisation's
    /// accounts that names the member or one of its faces (the member's creation with its name, email and metadata,
    /// its enrolments, its check-ins) becomes `erasedAnswer` in the same transaction: replaying the key returns
    /// nothing of the member, and does not run the request again (which would create the member anew). Returns the
    /// faces removed, or nil when there was no such member.
    public func delete(member: UUID, organization: UUID, actor: UUID? = nil) async throws -> [FaceRef]? {
        try await database.transaction(logger: logger) { connection in
            var removed: [FaceRef] = []
            // The faces go with the member: no face.deleted webhook of their own (member.erased says it).
            try await connection.query(
                "SELECT set_config('facegate.erasing', \(member.uuidString.lowercased()), true)", logger: logger)
            let faces = try await connection.query(
                "DELETE FROM faces WHERE member_id = \(member) AND organization_id = \(organization) RETURNING id",
                logger: logger)
            for try await id in faces.decode(UUID.self) { removed.append(FaceRef(face: id, member: member)) }
            let deleted = try await connection.query(
                "DELETE FROM members WHERE id = \(member) AND organization_id = \(organization) RETURNING id",
                logger: logger)
            guard try await deleted.first(UUID.self) != nil else { return nil }
            // Answers name ids in lowercase (the API's way); uppercase too, in case.
            let named = ([member] + removed.map(\.face)).flatMap { [$0.uuidString.lowercased(), $0.uuidString] }
            let redacted = try await connection.query(
                """
                WITH redacted AS (
                    UPDATE idempotency_keys k
                    SET status = 410, content_type = 'application/problem+json', body = \(Self.erasedAnswer.byteBuffer)
                    FROM users u
                    WHERE u.id = k.user_id AND u.organization_id = \(organization) AND k.body IS NOT NULL
                      AND EXISTS (SELECT 1 FROM unnest(\(named)::text[]) AS n(id)
                                  WHERE position(convert_to(n.id, 'UTF8') IN k.body) > 0)
                    RETURNING 1
                )
                SELECT count(*)::int FROM redacted
                """, logger: logger)
            let answersRedacted = try await redacted.first(Int.self) ?? 0
            try await connection.query(
                """
                INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                VALUES (\(organization), \(actor), 'member_erased', \(member.uuidString),
                        jsonb_build_object('faces_erased', \(removed.count), 'answers_redacted', \(answersRedacted)))
                """, logger: logger)
            return removed
        }
    }

    /// What a replayed `Idempotency-Key` answers once the member its answer named has been erased (status 410).
    static let erasedAnswer = Array(
        #"{"code":"member_erased","detail":"the member this request concerned has been erased","status":410,"title":"Gone","type":"about:blank"}"#
            .utf8)
}

/// A membership's state, as staff set it.
public enum MembershipStatus: String, Sendable, CaseIterable {
    case active, paused, cancelled
}

/// Why a member may not come in.
public enum InactiveReason: String, Sendable, Equatable {
    case paused, cancelled, expired
}

/// A member as the door sees them (`MemberStore.admission(of:organization:)`).
public struct Admission: Sendable, Equatable {
    public var name: String
    public var externalID: String?
    /// Nil: the membership is active today.
    public var inactive: InactiveReason?
}
