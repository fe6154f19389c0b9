import Foundation
import Logging
import PostgresNIO

/// Webhook endpoints, the outbox of events and their deliveries (migration 15). Events are written by the database's
/// triggers in the transaction of the change they describe; this store manages endpoints, hands due deliveries to the
/// dispatchers (`claim`) and keeps what each attempt gave.
public struct WebhookStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public struct Endpoint: Sendable, Equatable {
        public var id: UUID
        public var organization: UUID
        public var url: String
        public var description: String
        public var events: [String]
        public var enabled: Bool
        /// Why the service disabled it (nil: enabled, or disabled by an admin).
        public var disabledReason: String?
        /// Until when the secret before the last rotation still signs too.
        public var previousSecretUntil: Date?
        public var createdAt: Date
        public var updatedAt: Date
    }

    static let endpointColumns = """
        id, organization_id, url, description, events, enabled, disabled_reason,
        CASE WHEN previous_secret_until > now() THEN previous_secret_until END, created_at, updated_at
        """

    private static func endpoints(_ rows: [PostgresRow]) throws -> [Endpoint] {
        try rows.decode((UUID, UUID, String, String, [String], Bool, String?, Date?, Date, Date).self).map {
            Endpoint(
                id: $0.0, organization: $0.1, url: $0.2, description: $0.3, events: $0.4, enabled: $0.5,
                disabledReason: $0.6, previousSecretUntil: $0.7, createdAt: $0.8, updatedAt: $0.9)
        }
    }

    public func create(
        organization: UUID, url: String, events: [String], description: String, secret: String, actor: UUID?
    ) async throws -> Endpoint {
        let rows = try await database.query(
            """
            WITH endpoint AS (
                INSERT INTO webhook_endpoints (organization_id, url, events, description, secret)
                VALUES (\(organization), \(url), \(events), \(description), \(secret))
                RETURNING *
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                SELECT organization_id, \(actor), 'webhook_created', id::text FROM endpoint
            )
            SELECT \(unescaped: Self.endpointColumns) FROM endpoint
            """, logger: logger)
        guard let endpoint = try Self.endpoints(rows).first else { throw StorageError.noRowReturned }
        return endpoint
    }

    public func list(organization: UUID) async throws -> [Endpoint] {
        try Self.endpoints(
            try await database.query(
                """
                SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints
                WHERE organization_id = \(organization) ORDER BY created_at, id
                """, logger: logger))
    }

    public func endpoint(_ id: UUID, organization: UUID) async throws -> Endpoint? {
        try Self.endpoints(
            try await database.query(
                """
                SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints
                WHERE id = \(id) AND organization_id = \(organization)
                """, logger: logger)
        ).first
    }

    /// What `update` changes; nil leaves a field as it is.
    public struct Change: Sendable {
        public var url: String?
        public var events: [String]?
        public var description: String?
        public var enabled: Bool?
        /// A new secret; the one it replaces keeps signing (beside it) for `overlap`.
        public var secret: (value: String, overlap: Duration)?

        public init(
            url: String? = nil, events: [String]? = nil, description: String? = nil, enabled: Bool? = nil,
            secret: (value: String, overlap: Duration)? = nil
        ) {
            self.url = url
            self.events = events
            self.description = description
            self.enabled = enabled
            self.secret = secret
        }
    }

    /// Changes an endpoint (audited); nil when there is no such endpoint in the organisation. Enabling it clears the
    /// reason it was disabled for.
    public func update(_ id: UUID, organization: UUID, _ change: Change, actor: UUID?) async throws -> Endpoint? {
        let overlap = change.secret.map { Double($0.overlap / .milliseconds(1)) / 1000 }
        let rows = try await database.query(
            """
            WITH endpoint AS (
                UPDATE webhook_endpoints SET
                    url = coalesce(\(change.url), url),
                    events = coalesce(\(change.events)::text[], events),
                    description = coalesce(\(change.description), description),
                    enabled = coalesce(\(change.enabled), enabled),
                    disabled_reason = CASE WHEN \(change.enabled) THEN NULL ELSE disabled_reason END,
                    previous_secret = CASE WHEN \(change.secret?.value)::text IS NULL THEN previous_secret ELSE secret END,
                    previous_secret_until = CASE WHEN \(change.secret?.value)::text IS NULL THEN previous_secret_until
                                            ELSE now() + make_interval(secs => \(overlap)) END,
                    secret = coalesce(\(change.secret?.value), secret),
                    updated_at = now()
                WHERE id = \(id) AND organization_id = \(organization)
                RETURNING *
            ), restarted AS (
                -- Enabled again: what waited is tried now, each with a new retry window.
                UPDATE webhook_deliveries SET next_attempt_at = clock_timestamp(), retrying_since = clock_timestamp()
                WHERE \(change.enabled) AND state = 'pending' AND endpoint_id = (SELECT id FROM endpoint)
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                SELECT organization_id, \(actor),
                       CASE WHEN \(change.secret?.value)::text IS NULL THEN 'webhook_updated' ELSE 'webhook_secret_rotated' END,
                       id::text FROM endpoint
            )
            SELECT \(unescaped: Self.endpointColumns) FROM endpoint
            """, logger: logger)
        return try Self.endpoints(rows).first
    }

    /// Deletes an endpoint with its deliveries (audited); false when there is no such endpoint in the organisation.
    public func delete(_ id: UUID, organization: UUID, actor: UUID?) async throws -> Bool {
        let rows = try await database.query(
            """
            WITH endpoint AS (
                DELETE FROM webhook_endpoints WHERE id = \(id) AND organization_id = \(organization) RETURNING id
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                SELECT \(organization), \(actor), 'webhook_deleted', id::text FROM endpoint
            )
            SELECT count(*)::int FROM endpoint
            """, logger: logger)
        return try rows.first(Int.self) == 1
    }

    // MARK: - Deliveries

    public struct Attempt: Sendable, Equatable {
        public var at: Date
        public var statusCode: Int?
        public var durationMilliseconds: Int
        public var error: String?
    }

    public struct Delivery: Sendable, Equatable {
        public var id: UUID
        public var eventID: UUID
        public var eventType: String
        public var state: String
        public var attempts: Int
        public var nextAttemptAt: Date?
        public var deliveredAt: Date?
        public var createdAt: Date
        /// The latest attempts, newest first.
        public var history: [Attempt]
    }

    /// The endpoint's deliveries, newest first, after `cursor` (the time and id of the last one of the previous page),
    /// each with its latest ten attempts; nil when there is no such endpoint in the organisation.
    public func deliveries(
        endpoint: UUID, organization: UUID, limit: Int, after cursor: (at: Date, id: UUID)?
    ) async throws -> [Delivery]? {
        guard try await self.endpoint(endpoint, organization: organization) != nil else { return nil }
        let rows = try await database.query(
            """
            SELECT d.id, d.event_id, e.type, d.state, d.attempts,
                   CASE WHEN d.state = 'pending' THEN d.next_attempt_at END, d.delivered_at, d.created_at,
                   coalesce((SELECT jsonb_agg(jsonb_build_object(
                                'at', extract(epoch FROM a.attempted_at), 'status_code', a.status_code,
                                'duration_ms', a.duration_ms, 'error', a.error) ORDER BY a.attempted_at DESC)
                             FROM (SELECT * FROM webhook_delivery_attempts WHERE delivery_id = d.id
                                   ORDER BY attempted_at DESC LIMIT 10) a), '[]')::text
            FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
            WHERE d.endpoint_id = \(endpoint)
              AND (\(cursor?.at)::timestamptz IS NULL OR (d.created_at, d.id) < (\(cursor?.at), \(cursor?.id)))
            ORDER BY d.created_at DESC, d.id DESC LIMIT \(limit)
            """, logger: logger)
        struct Row: Decodable {
            var at: Double
            var status_code: Int?
            var duration_ms: Int
            var error: String?
        }
        return try rows.decode((UUID, UUID, String, String, Int, Date?, Date?, Date, String).self).map {
            let history = (try? JSONDecoder().decode([Row].self, from: Data($0.8.utf8))) ?? []
            return Delivery(
                id: $0.0, eventID: $0.1, eventType: $0.2, state: $0.3, attempts: $0.4, nextAttemptAt: $0.5,
                deliveredAt: $0.6, createdAt: $0.7,
                history: history.map {
                    Attempt(
                        at: Date(timeIntervalSince1970: $0.at), statusCode: $0.status_code,
                        durationMilliseconds: $0.duration_ms, error: $0.error)
                })
        }
    }

    public enum Redelivery: Sendable { case queued, notFound, beingSent }

    /// Queues a delivery again now, with a new retry window (its event id unchanged: the receiver de-duplicates);
    /// `beingSent` while a dispatcher is sending it (it is not sent twice at once).
    public func redeliver(_ delivery: UUID, endpoint: UUID, organization: UUID) async throws -> Redelivery {
        let rows = try await database.query(
            """
            WITH found AS (
                SELECT d.id, d.state = 'pending' AND d.lease_until > clock_timestamp() AS sending
                FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
                WHERE d.id = \(delivery) AND d.endpoint_id = \(endpoint) AND w.organization_id = \(organization)
            ), queued AS (
                UPDATE webhook_deliveries d SET state = 'pending', next_attempt_at = clock_timestamp(),
                                                retrying_since = clock_timestamp()
                FROM found WHERE d.id = found.id AND NOT found.sending
                RETURNING d.id
            )
            SELECT (SELECT sending FROM found), EXISTS (SELECT 1 FROM queued)
            """, logger: logger)
        guard let (sending, queued) = try rows.firstRow((Bool?, Bool).self), let sending else { return .notFound }
        return queued ? .queued : (sending ? .beingSent : .notFound)
    }

    /// Queues a `ping` event to one endpoint (only to it, whatever it subscribed to); its delivery's id, nil when
    /// there is no such endpoint in the organisation.
    public func ping(_ endpoint: UUID, organization: UUID) async throws -> UUID? {
        let rows = try await database.query(
            """
            WITH endpoint AS (
                SELECT id FROM webhook_endpoints WHERE id = \(endpoint) AND organization_id = \(organization)
            ), event AS (
                INSERT INTO webhook_events (organization_id, type, data)
                SELECT \(organization), 'ping', jsonb_build_object('endpoint_id', id) FROM endpoint
                RETURNING id, seq
            )
            INSERT INTO webhook_deliveries (endpoint_id, event_id, seq)
            SELECT \(endpoint), id, seq FROM event RETURNING id
            """, logger: logger)
        return try rows.first(UUID.self)
    }

    // MARK: - Dispatch

    /// A delivery handed to one dispatcher: the event as sent and where to.
    public struct Claimed: Sendable {
        public var delivery: UUID
        public var endpoint: UUID
        public var url: String
        /// The secrets that sign it: the current one, and the previous one during a rotation's overlap.
        public var secrets: [String]
        public var attempts: Int
        public var retryingSince: Date
        public var event: Event
    }

    public struct Event: Sendable, Equatable {
        public var id: UUID
        public var type: String
        public var organization: UUID
        public var createdAt: Date
        /// The event's `data` object, as JSON text.
        public var data: String
    }

    /// Claims up to `limit` due deliveries of enabled endpoints for `lease` (another dispatcher takes one again only
    /// after that: a dispatcher that dies mid-send loses nothing), skipping rows another dispatcher is claiming and
    /// every delivery with an earlier one of the same member still pending at its endpoint (their order is kept).
    /// Committed without waiting for the disk: a claim lost in a crash was never sent, or is sent again.
    public func claim(limit: Int, lease: Duration) async throws -> [Claimed] {
        let leaseSeconds = Double(lease / .milliseconds(1)) / 1000
        let rows = try await database.query(
            """
            WITH quiet AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
            due AS (
                SELECT d.id FROM quiet, webhook_deliveries d
                JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
                WHERE d.state = 'pending' AND d.next_attempt_at <= clock_timestamp()
                  AND (d.ordering_key IS NULL OR NOT EXISTS (
                        SELECT 1 FROM webhook_deliveries p
                        WHERE p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key
                          AND p.state = 'pending' AND p.seq < d.seq))
                ORDER BY d.next_attempt_at LIMIT \(limit)
                FOR UPDATE OF d SKIP LOCKED
            ), claimed AS (
                UPDATE webhook_deliveries d
                SET next_attempt_at = clock_timestamp() + make_interval(secs => \(leaseSeconds)),
                    lease_until = clock_timestamp() + make_interval(secs => \(leaseSeconds)),
                    attempts = attempts + 1,
                    -- The retry window starts with the first try (not while it waited behind others).
                    retrying_since = CASE WHEN d.attempts = 0 THEN clock_timestamp() ELSE d.retrying_since END
                FROM due WHERE d.id = due.id
                RETURNING d.id, d.endpoint_id, d.event_id, d.attempts, d.retrying_since
            )
            SELECT c.id, c.endpoint_id, w.url, w.secret,
                   CASE WHEN w.previous_secret_until > now() THEN w.previous_secret END,
                   c.attempts, c.retrying_since, e.id, e.type, e.organization_id, e.created_at, e.data::text
            FROM claimed c JOIN webhook_endpoints w ON w.id = c.endpoint_id JOIN webhook_events e ON e.id = c.event_id
            """, logger: logger)
        return try rows.decode(
            (UUID, UUID, String, String, String?, Int, Date, UUID, String, UUID, Date, String).self
        ).map {
            Claimed(
                delivery: $0.0, endpoint: $0.1, url: $0.2, secrets: [$0.3] + ($0.4.map { [$0] } ?? []),
                attempts: $0.5, retryingSince: $0.6,
                event: Event(id: $0.7, type: $0.8, organization: $0.9, createdAt: $0.10, data: $0.11))
        }
    }

    /// What became of an attempt.
    public enum Result: Sendable {
        case delivered
        /// Tried again at `at`.
        case retry(at: Date)
        /// Given up: the delivery failed and the endpoint is disabled with `reason`.
        case failed(reason: String)

        /// `delivered`, `retry` or `failed`.
        public var name: String {
            switch self {
            case .delivered: "delivered"
            case .retry: "retry"
            case .failed: "failed"
            }
        }
    }

    /// One attempt of a claimed delivery and what became of it, to record.
    public struct SentAttempt: Sendable {
        public var delivery: UUID
        /// The claim's attempt number (`Claimed.attempts`).
        public var number: Int
        public var statusCode: Int?
        public var duration: Duration
        public var error: String?
        public var result: Result

        public init(delivery: UUID, number: Int, statusCode: Int?, duration: Duration, error: String?, result: Result) {
            self.delivery = delivery
            self.number = number
            self.statusCode = statusCode
            self.duration = duration
            self.error = error
            self.result = result
        }
    }

    /// Records attempts and their results, in one statement however many (a dispatcher under load records a batch at
    /// once). Only the claim that sent a delivery may settle it: a send that outlived its lease (the delivery claimed
    /// again since, its number no longer the delivery's) leaves its attempt on the record and changes nothing else.
    /// Committed without waiting for the disk (`synchronous_commit` off for this transaction): a record lost in a
    /// crash only sends its event again, which at-least-once delivery allows.
    public func record(_ attempts: [SentAttempt]) async throws {
        guard !attempts.isEmpty else { return }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let rows: [[String: Any]] = attempts.map { attempt in
            let (state, next, reason): (String, Date?, String?) =
                switch attempt.result {
                case .delivered: ("delivered", nil, nil)
                case .retry(let at): ("pending", at, nil)
                case .failed(let reason): ("failed", nil, Self.storable(reason))
                }
            var row: [String: Any] = [
                "delivery": attempt.delivery.uuidString, "attempt": attempt.number, "state": state,
                "duration_ms": Int(attempt.duration / .milliseconds(1)),
            ]
            row["status_code"] = attempt.statusCode
            row["error"] = Self.storable(attempt.error)
            row["next_at"] = next.map { formatter.string(from: $0) }
            row["reason"] = reason
            return row
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: rows), as: UTF8.self)
        try await database.query(
            """
            WITH quiet AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
            input AS (
                SELECT i.* FROM quiet, jsonb_to_recordset(\(json)::jsonb) AS i(
                    delivery uuid, attempt int, status_code int, duration_ms int, error text, state text,
                    next_at timestamptz, reason text)
            ), attempt AS (
                INSERT INTO webhook_delivery_attempts (delivery_id, status_code, duration_ms, error)
                SELECT d.id, i.status_code, i.duration_ms, i.error
                FROM input i JOIN webhook_deliveries d ON d.id = i.delivery
            ), delivery AS (
                UPDATE webhook_deliveries d
                SET state = i.state, last_status_code = i.status_code, last_error = i.error,
                    next_attempt_at = coalesce(i.next_at, d.next_attempt_at), lease_until = NULL,
                    delivered_at = CASE WHEN i.state = 'delivered' THEN clock_timestamp() END
                FROM input i
                WHERE d.id = i.delivery AND d.attempts = i.attempt AND d.state = 'pending'
                RETURNING d.endpoint_id, i.reason
            )
            UPDATE webhook_endpoints w SET enabled = false, disabled_reason = f.reason, updated_at = now()
            FROM (SELECT DISTINCT ON (endpoint_id) endpoint_id, reason FROM delivery WHERE reason IS NOT NULL) f
            WHERE w.id = f.endpoint_id
            """, logger: logger)
    }

    /// Text as the columns keep it: no control characters (PostgreSQL refuses NUL), at most 500 code points (as its
    /// `length` counts), nil when empty.
    static func storable(_ text: String?) -> String? {
        guard let text else { return nil }
        let kept = text.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }.prefix(500)
        return kept.isEmpty ? nil : String(String.UnicodeScalarView(kept))
    }
}
