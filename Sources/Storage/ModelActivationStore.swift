import Foundation
import Logging
import PostgresNIO

/// The face model every instance matches with, once an operator switched models while the service runs
/// (`facegate faces reembed --activate`). Before the first switch there is none and each instance uses `FACE_MODEL`.
/// Announced on `FaceChange.channel`: instances load the model, then its gallery, then swap (`ActiveFaceModel`).
public struct ModelActivationStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// The activated model, nil before the first switch.
    public func current() async throws -> EmbeddingSpace? {
        let rows = try await database.query(
            "SELECT model, model_version FROM face_model_activation", logger: logger)
        return try rows.firstRow((String, String).self).map { EmbeddingSpace(model: $0.0, version: $0.1) }
    }

    /// Records `space` as the model every instance matches and enrols with, audits it (`face_model_activated`) and
    /// announces it, in one transaction. It waits for enrolments in progress (a lock on `faces` that new enrolments
    /// queue behind): a face enrolled before the switch is committed before it, one after sees it and is refused
    /// unless of `space` (`FaceStore.insert`), so that one re-embedding pass after this call misses nothing.
    public func activate(_ space: EmbeddingSpace, actor: UUID? = nil) async throws {
        let logger = logger
        try await database.transaction(logger: logger) { connection in
            try await connection.query("LOCK TABLE faces IN SHARE MODE", logger: logger)
            try await connection.query(
                """
                WITH chosen AS (
                    INSERT INTO face_model_activation (model, model_version) VALUES (\(space.model), \(space.version))
                    ON CONFLICT (singleton) DO UPDATE
                        SET model = EXCLUDED.model, model_version = EXCLUDED.model_version, activated_at = now()
                    RETURNING model, model_version
                )
                INSERT INTO audit_log (actor_user_id, action, target, details)
                SELECT \(actor), 'face_model_activated', model, jsonb_build_object('model_version', model_version)
                FROM chosen
                """, logger: logger)
            try await connection.query(
                "SELECT pg_notify(\(FaceChange.channel), \(FaceChange.modelActivatedPayload))", logger: logger)
        }
    }
}
