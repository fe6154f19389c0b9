import Foundation
import Logging
import PostgresNIO

/// Confirmations a check-in is waiting on: a face in the PIN band leaves its candidates (at most three members,
/// with the face and distance each was found at) here, bound to the account that asked, for a few tries and a few
/// minutes; the kiosk only ever sees the confirmation's id. Kept in the database, so that any instance can take the
/// PIN; expired ones are purged with the retention.
public struct CheckinConfirmationStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public struct Candidate: Sendable, Equatable {
        public var member: UUID
        public var face: UUID
        public var distance: Float

        public init(member: UUID, face: UUID, distance: Float) {
            self.member = member
            self.face = face
            self.distance = distance
        }
    }

    /// A confirmation with one try taken (`attemptsLeft` after it).
    public struct Taken: Sendable, Equatable {
        public var candidates: [Candidate]
        public var attemptsLeft: Int
    }

    /// Leaves `candidates` waiting for `attempts` tries during `lifetime` seconds; the confirmation's id.
    public func create(
        organization: UUID, account: UUID, candidates: [Candidate], attempts: Int, lifetime: Int
    ) async throws -> UUID {
        let rows = try await database.query(
            """
            INSERT INTO checkin_confirmations (organization_id, account_id, members, faces, distances, attempts_left,
                                               expires_at)
            VALUES (\(organization), \(account), \(candidates.map(\.member)), \(candidates.map(\.face)),
                    \(candidates.map(\.distance)), \(attempts), now() + make_interval(secs => \(Double(lifetime))))
            RETURNING id
            """, logger: logger)
        guard let id = try rows.first(UUID.self) else { throw StorageError.noRowReturned }
        return id
    }

    /// Takes one try of the confirmation, if it is the account's, has not expired and has tries left; nil otherwise
    /// (unknown, another account's, expired, used up: all alike). Tries taken at once are counted one by one.
    public func take(_ id: UUID, organization: UUID, account: UUID) async throws -> Taken? {
        let rows = try await database.query(
            """
            UPDATE checkin_confirmations SET attempts_left = attempts_left - 1
            WHERE id = \(id) AND organization_id = \(organization) AND account_id = \(account) AND expires_at > now()
              AND attempts_left > 0
            RETURNING members, faces, distances, attempts_left
            """, logger: logger)
        for (members, faces, distances, left) in try rows.decode(([UUID], [UUID], [Float], Int).self) {
            let candidates = zip(zip(members, faces), distances).map {
                Candidate(member: $0.0.0, face: $0.0.1, distance: $0.1)
            }
            return Taken(candidates: candidates, attemptsLeft: left)
        }
        return nil
    }

    /// The confirmation is over (the member came in, or no tries are left).
    public func remove(_ id: UUID) async throws {
        _ = try await database.query("DELETE FROM checkin_confirmations WHERE id = \(id)", logger: logger)
    }
}
