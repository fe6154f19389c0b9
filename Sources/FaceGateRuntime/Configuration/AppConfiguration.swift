import FaceEngine
import Foundation
import Storage

/// Everything the service is configured with, in sections, built and validated once at start-up and passed down
/// explicitly. A setting is one property of its section, its default written beside its doc comment (which names
/// its variable), and one line of the section's `read`; the README's table lists every variable (a test checks it).
public struct AppConfiguration: Sendable {
    /// Where the server listens, how long it waits for clients, whom it believes about addresses.
    public var server = ServerSettings()
    /// PostgreSQL: where, and how long to wait for it.
    public var database = DatabaseSettings()
    /// Tokens, passwords, the biometric keys and the first super admin.
    public var security = SecuritySettings()
    /// Rate limits and the size of what a request may carry.
    public var limits = LimitSettings()
    /// The face model, its engines and its match policy.
    public var engine = EngineConfiguration()
    /// Where the faces are searched and how often the copy in memory is checked.
    public var gallery = GallerySettings()
    /// The door: duplicate check-ins and the liveness challenge.
    public var checkin = CheckinSettings()
    /// Webhook deliveries and the validation call.
    public var webhooks = WebhookSettings()
    /// `AUDIT_RETENTION_DAYS`, `CHECKIN_RETENTION_DAYS` and `ATTEMPT_RETENTION_DAYS`: older audit entries, check-ins
    /// and check-in attempts are purged (0: kept).
    public var retention = Retention(auditDays: 365, checkinDays: 730, attemptDays: 90)

    /// The defaults, without the required settings (`DATABASE_URL`, `SECRET_KEY`, `BIOMETRIC_ENCRYPTION_KEY`).
    public init() {}
}

/// Every problem found in the configuration, each naming its variable.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

extension AppConfiguration {
    /// Validates `environment` and lists every problem at once.
    public init(environment: [String: String]) throws(ConfigurationError) {
        var reader = ConfigurationReader(environment)
        self.init(reading: &reader)
        guard reader.problems.isEmpty else { throw ConfigurationError(problems: reader.problems) }
    }

    init(reading reader: inout ConfigurationReader) {
        self.init()
        server.read(&reader)
        database.read(&reader)
        security.read(&reader)
        limits.read(&reader)
        if let engine = reader.engineConfiguration() { self.engine = engine }
        gallery.read(&reader, model: engine.descriptor)
        checkin.read(&reader)
        webhooks.read(&reader)
        retention.read(&reader)
    }

    /// Every variable the configuration reads, in the order it reads them (the README's table lists them all).
    public static var variables: [String] {
        var reader = ConfigurationReader([:])
        _ = AppConfiguration(reading: &reader)
        var seen = Set<String>()
        return reader.names.filter { seen.insert($0).inserted }
    }

    /// Only what the database commands need (`facegate migrate`).
    public static func databaseURL(environment: [String: String]) throws(ConfigurationError) -> String {
        var reader = ConfigurationReader(environment)
        var database = DatabaseSettings()
        database.read(&reader)
        guard reader.problems.isEmpty else { throw ConfigurationError(problems: reader.problems) }
        return database.url
    }
}

extension Retention {
    mutating func read(_ reader: inout ConfigurationReader) {
        reader.read("AUDIT_RETENTION_DAYS", &auditDays, in: 0...36_500)
        reader.read("CHECKIN_RETENTION_DAYS", &checkinDays, in: 0...36_500)
        reader.read("ATTEMPT_RETENTION_DAYS", &attemptDays, in: 0...36_500)
    }
}
