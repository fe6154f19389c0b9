import Foundation
import Hummingbird
import Storage

/// The body of `GET /ready`: every part the service needs, each with its own verdict. Internal errors are logged,
/// never returned.
struct ReadinessReport: Encodable, Equatable {
    struct DatabaseCheck: Codable, Equatable {
        var ok: Bool
        var pgvectorVersion: String?
        var error: String?
    }
    struct SchemaCheck: Codable, Equatable {
        var ok: Bool
        var version: Int?
        var expected: Int
    }
    /// The face model, and how its matches are judged.
    struct ModelsCheck: Codable, Equatable {
        var ok: Bool
        var model: String?
        var version: String?
        var detector: String?
        /// `FACE_MATCH_TARGET_FPIR` when the tolerance is derived from it.
        var targetFpir: Double?
        /// The tolerance of a search in the largest organisation's gallery (derived, or `FACE_MATCH_TOLERANCE`).
        var tolerance: Float?
        var largestGalleryFaces: Int?
        /// Faces per model ("model version") in the database at the gallery's last check; only the active model's
        /// are searched.
        var facesByModel: [String: Int]?
        /// The model activated in the database ("model version") by `facegate faces reembed --activate`, if any.
        var activated: String?
        /// Why this instance does not run the activated model (it then refuses enrolments).
        var error: String?
    }
    /// The search gallery: for the memory backend, loaded and following the database (LISTEN active, no
    /// unresolved difference at the last check).
    struct GalleryCheck: Codable, Equatable {
        var ok: Bool
        var backend: String
        /// Faces in the in-memory index (absent for the pgvector backends).
        var faces: Int?
        var indexBytes: Int?
        var inSync: Bool
        var listening: Bool?
        var lastCheckAt: Date?
        var reloads: Int?
        /// Why searches cannot give the database's answer (a template key this instance lacks).
        var error: String?
    }
    struct Checks: Codable, Equatable {
        var database: DatabaseCheck
        var schema: SchemaCheck
        var models: ModelsCheck
        var gallery: GalleryCheck
    }

    var status: String
    var failing: [String]
    var checks: Checks

    init(checks: Checks) {
        self.checks = checks
        var failing: [String] = []
        if !checks.database.ok { failing.append("database") }
        if !checks.schema.ok { failing.append("schema") }
        if !checks.models.ok { failing.append("models") }
        if !checks.gallery.ok { failing.append("gallery") }
        self.failing = failing
        self.status = failing.isEmpty ? "ready" : "not_ready"
    }

    var isReady: Bool { failing.isEmpty }
}
