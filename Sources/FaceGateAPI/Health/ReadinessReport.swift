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
    struct ModelsCheck: Codable, Equatable {
        var ok: Bool
        var detector: String?
    }
    struct Checks: Codable, Equatable {
        var database: DatabaseCheck
        var schema: SchemaCheck
        var models: ModelsCheck
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
        self.failing = failing
        self.status = failing.isEmpty ? "ready" : "not_ready"
    }

    var isReady: Bool { failing.isEmpty }
}
