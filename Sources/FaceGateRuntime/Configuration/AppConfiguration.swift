import FaceEngine
import Foundation
import Gallery
import ImageDecoding
import Liveness
import Logging
import Storage
import Webhooks
import UseCases

/// Everything the service is configured with, built and validated once at start-up and passed down explicitly.
public struct AppConfiguration: Sendable {
    public var databaseURL: String
    public var host: String
    public var port: Int
    public var secretKey: String
    public var biometricEncryptionKey: [UInt8]
    public var superAdmin: UserStore.SuperAdminCredentials?
    public var embeddingDimensions: Int
    public var logLevel: Logger.Level
    public var imageLimits: ImageDecoder.Limits
    public var engine: EngineConfiguration
    /// `SEARCH_BACKEND`: the in-memory index (`memory`, default) or pgvector (`pgvector`: HNSW; `pgvector_exact`).
    public var searchBackend: SearchBackend
    /// `HNSW_EF_SEARCH`: pgvector's `hnsw.ef_search` for the `pgvector` backend (higher: better recall, slower).
    public var hnswEfSearch: Int
    /// `GALLERY_CHECK_SECONDS`: how often the in-memory index is compared with the database.
    public var galleryCheckInterval: Duration
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`: lifetime of access tokens.
    public var accessTokenLifetime: Duration
    /// `REFRESH_TOKEN_EXPIRE_DAYS`: lifetime of refresh tokens (each refresh issues a new one).
    public var refreshTokenLifetime: Duration
    /// `RATE_LIMIT_PER_MINUTE` and `RATE_LIMIT_BURST`: `/api/v1` requests per user (or per client address when
    /// anonymous), refilled evenly, with this many at once.
    public var rateLimitPerMinute: Int
    public var rateLimitBurst: Int
    /// `LOGIN_RATE_LIMIT_PER_MINUTE`: login attempts per client address and per username.
    public var loginRateLimitPerMinute: Int
    /// `CHECKIN_DEDUP_SECONDS`: a member's second check-in within this time returns the first instead.
    public var checkinDedupSeconds: Int
    /// `LIVENESS_MIN_TURN_DEGREES`: how far a challenge's head turn must go the asked way (the other thresholds of
    /// `LivenessCheck` come from measured landmark noise).
    public var liveness = LivenessSettings.default
    /// `ALLOWED_ORIGINS`: comma-separated origins (`https://desk.example.org`) whose browser pages may call the API.
    public var allowedOrigins: Set<String> = []
    /// `DATABASE_WAIT_MS`: how long a request waits for a database connection before it is answered 503
    /// `database_unavailable` (while PostgreSQL is down, instead of waiting for it to return).
    public var databaseWait: Duration = Database.defaultConnectionWait
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: the longest a request's database work may take once it has a connection; past
    /// it the request is answered 503 `database_unavailable` and the connection closed (a stalled or stopped server).
    public var databaseStatementTimeout: Duration = .seconds(10)
    /// How long `/ready` waits for the database before calling it unreachable.
    public var readinessTimeout: Duration = .seconds(2)
    /// bcrypt cost for new password hashes.
    public var bcryptCost: UInt8 = 12
    /// `SHUTDOWN_TIMEOUT_SECONDS`: after SIGTERM or SIGINT the service stops accepting, lets in-flight requests finish
    /// and closes its database client; whatever has not finished by then is abandoned and the process exits.
    public var shutdownTimeout: Duration = .seconds(10)
    /// `READY_RATE_LIMIT_PER_MINUTE`: `/ready` requests per client address (its database probe is cached for a second
    /// anyway); beyond it 429 with Retry-After.
    public var readyRateLimitPerMinute: Int = 600
    /// `HTTP_IDLE_TIMEOUT_SECONDS`: a connection that sends nothing new for this long — idle between requests, or
    /// stalled in a request's head or between parts of its body — is closed.
    public var httpIdleTimeout: Duration = .seconds(30)
    /// `REQUEST_BODY_TIMEOUT_SECONDS`: a request's whole body must arrive within this (408 `body_timeout`).
    public var requestBodyTimeout: Duration = .seconds(30)
    /// `TRUSTED_PROXIES`: the reverse proxies (CIDRs) whose `Forwarded` / `X-Forwarded-For` name the client; none by
    /// default, when the connection's peer is the client.
    public var trustedProxies: [IPNetwork] = []
    /// `TRUSTED_PROXY_HEADER`: the header those proxies write (`x-forwarded-for`, default, or `forwarded`); the other
    /// is ignored.
    public var trustedProxyHeader: ClientAddressResolver.Header = .xForwardedFor
    /// `RATE_LIMIT_INSTANCES`: how many instances share the traffic; each applies its share of every rate limit.
    public var rateLimitInstances: Int = 1
    /// `REFRESH_REUSE_GRACE_SECONDS`: a refresh token just replaced may be presented again this long (its answer was
    /// lost) and gets a new pair, the pair it got before revoked for good (never two pairs of one session); later,
    /// reuse revokes the session.
    public var refreshReuseGrace: Duration = .seconds(3)
    /// `AUDIT_RETENTION_DAYS`, `CHECKIN_RETENTION_DAYS` and `ATTEMPT_RETENTION_DAYS`: older audit entries, check-ins
    /// and check-in attempts are purged (0: kept).
    public var retention = Retention(auditDays: 365, checkinDays: 730, attemptDays: 90)
    /// `MAX_INFLIGHT_IMAGE_BYTES`: photo bytes all requests together may hold at once (nil: unbounded, `0`).
    public var maxInflightImageBytes: Int? = 256 << 20
    /// `BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS`: earlier biometric keys (comma-separated base64), which still open what
    /// they sealed (and read the templates they transformed) until `facegate keys rotate` has re-sealed and
    /// re-transformed it under `BIOMETRIC_ENCRYPTION_KEY`.
    public var previousBiometricKeys: [[UInt8]] = []

    public var biometricSealer: BiometricSealer { BiometricSealer(key: biometricEncryptionKey, previousKeys: previousBiometricKeys) }
    /// The keyed rotations face templates are stored under (derived once per key in a process).
    public var templateKeys: TemplateKeys { TemplateKeys(key: biometricEncryptionKey, previousKeys: previousBiometricKeys) }

    /// An instance's share of a limit of `total` per minute (at least 1).
    public var perInstanceLimit: @Sendable (Int) -> Int {
        { [rateLimitInstances] total in max(1, (total + rateLimitInstances - 1) / rateLimitInstances) }
    }
    /// `METRICS_TOKEN`: when set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    public var metricsToken: String?
    /// Webhook deliveries and the validation call: `WEBHOOK_RETRY_HOURS`, `WEBHOOK_RETRY_INITIAL_SECONDS`,
    /// `WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOW_PRIVATE_NETWORKS`, `CHECKIN_VALIDATION_TIMEOUT_MS`,
    /// `CHECKIN_VALIDATION_ON_ERROR`.
    public var webhooks = WebhookSettings()
}

/// How webhooks are delivered.
public struct WebhookSettings: Sendable {
    /// `WEBHOOK_RETRY_HOURS`: a delivery is retried this long before it fails and its endpoint is disabled.
    public var retryWindow: Duration = .seconds(24 * 3600)
    /// `WEBHOOK_RETRY_INITIAL_SECONDS`: the first pause before a retry (doubling to an hour, ±50 % jitter).
    public var initialBackoff: Duration = .seconds(10)
    /// `WEBHOOK_ALLOW_HTTP`: endpoints may be plain http (default: https only).
    public var allowHTTP = false
    /// `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: endpoints may resolve to loopback, private or link-local addresses (receivers
    /// on the premises).
    public var allowPrivateNetworks = false
    /// `CHECKIN_VALIDATION_TIMEOUT_MS`: how long a check-in waits for the organisation's validation call.
    public var validationTimeout: Duration = .milliseconds(750)
    /// `CHECKIN_VALIDATION_ON_ERROR`: `admit` or `refuse` (the default) when the validation call gives no usable answer.
    public var validationAdmitsOnError = false

    public init() {}

    public var addressPolicy: WebhookAddressPolicy {
        WebhookAddressPolicy(allowHTTP: allowHTTP, allowPrivateNetworks: allowPrivateNetworks)
    }
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
    public init(environment env: [String: String]) throws(ConfigurationError) {
        var reader = ConfigurationReader(env)
        let databaseURL = reader.databaseURL()
        let host = reader.string("HOST", default: "127.0.0.1")
        let port = reader.integer("PORT", default: 8080, in: 1...65535)
        let secretKey = reader.required("SECRET_KEY", describe: "at least 32 bytes of random text") { value in
            value.utf8.count >= 32 ? value : nil
        }
        let biometricKey = reader.required("BIOMETRIC_ENCRYPTION_KEY", describe: "32 random bytes, base64-encoded") {
            value in Data(base64Encoded: value).flatMap { $0.count == 32 ? [UInt8]($0) : nil }
        }
        let superAdmin = reader.superAdmin()
        let engine = reader.engineConfiguration()
        let modelDimensions = engine?.descriptor.dimension ?? Migration.embeddingDimensions
        let dimensions = reader.integer("EMBEDDING_DIMENSIONS", default: modelDimensions, in: 1...4096)
        if let dimensions, dimensions != modelDimensions {
            reader.problem("EMBEDDING_DIMENSIONS is \(dimensions) but the face model produces \(modelDimensions)")
        }
        let logLevel = reader.logLevel()
        let maxBytes = reader.integer("MAX_IMAGE_BYTES", default: ImageDecoder.Limits.default.maxBytes, in: 1024...(512 << 20))
        let maxPixels = reader.integer(
            "MAX_IMAGE_PIXELS", default: ImageDecoder.Limits.default.maxPixels, in: 1024...400_000_000)
        let backend = reader.choice("SEARCH_BACKEND", default: SearchBackend.memory)
        let efSearch = reader.integer("HNSW_EF_SEARCH", default: 100, in: 1...1000)
        let checkSeconds = reader.integer("GALLERY_CHECK_SECONDS", default: 60, in: 1...86_400)
        let accessMinutes = reader.integer("ACCESS_TOKEN_EXPIRE_MINUTES", default: 15, in: 1...1440)
        let refreshDays = reader.integer("REFRESH_TOKEN_EXPIRE_DAYS", default: 14, in: 1...365)
        let perMinute = reader.integer("RATE_LIMIT_PER_MINUTE", default: 60, in: 1...1_000_000)
        let burst = reader.integer("RATE_LIMIT_BURST", default: perMinute ?? 60, in: 1...1_000_000)
        let loginPerMinute = reader.integer("LOGIN_RATE_LIMIT_PER_MINUTE", default: 10, in: 1...10_000)
        let dedupSeconds = reader.integer("CHECKIN_DEDUP_SECONDS", default: 300, in: 0...86_400)
        let origins = reader.origins()
        let databaseWaitMilliseconds = reader.integer("DATABASE_WAIT_MS", default: 2000, in: 50...60_000)
        let statementMilliseconds = reader.integer("DATABASE_STATEMENT_TIMEOUT_MS", default: 10_000, in: 100...600_000)
        let shutdownSeconds = reader.integer("SHUTDOWN_TIMEOUT_SECONDS", default: 10, in: 1...600)
        let readyPerMinute = reader.integer("READY_RATE_LIMIT_PER_MINUTE", default: 600, in: 1...1_000_000)
        let idleSeconds = reader.integer("HTTP_IDLE_TIMEOUT_SECONDS", default: 30, in: 1...3600)
        let bodySeconds = reader.integer("REQUEST_BODY_TIMEOUT_SECONDS", default: 30, in: 1...3600)
        let instances = reader.integer("RATE_LIMIT_INSTANCES", default: 1, in: 1...1000)
        let graceSeconds = reader.integer("REFRESH_REUSE_GRACE_SECONDS", default: 3, in: 0...30)
        let auditDays = reader.integer("AUDIT_RETENTION_DAYS", default: 365, in: 0...36_500)
        let checkinDays = reader.integer("CHECKIN_RETENTION_DAYS", default: 730, in: 0...36_500)
        let attemptDays = reader.integer("ATTEMPT_RETENTION_DAYS", default: 90, in: 0...36_500)
        let inflightBytes = reader.integer("MAX_INFLIGHT_IMAGE_BYTES", default: 256 << 20, in: 0...(64 << 30))
        let minTurn = reader.number(
            "LIVENESS_MIN_TURN_DEGREES", default: LivenessSettings.default.minTurnDegrees, in: 5...60)
        let previousKeyTexts = (reader.env["BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let previousKeys = previousKeyTexts.compactMap { Data(base64Encoded: $0).flatMap { $0.count == 32 ? [UInt8]($0) : nil } }
        if previousKeys.count != previousKeyTexts.count {
            reader.problem("BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS must be comma-separated base64 keys of 32 bytes")
        }
        let proxies = (reader.env["TRUSTED_PROXIES"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let trusted = proxies.compactMap(IPNetwork.init)
        let proxyHeader = ClientAddressResolver.Header(rawValue: (reader.env["TRUSTED_PROXY_HEADER"] ?? "x-forwarded-for").lowercased())
        if proxyHeader == nil { reader.problem("TRUSTED_PROXY_HEADER must be x-forwarded-for or forwarded") }
        if trusted.count != proxies.count {
            reader.problem("TRUSTED_PROXIES must be comma-separated addresses or CIDRs (10.0.0.0/8, fd00::/8)")
        }
        let webhookHours = reader.integer("WEBHOOK_RETRY_HOURS", default: 24, in: 1...720)
        let webhookInitialSeconds = reader.integer("WEBHOOK_RETRY_INITIAL_SECONDS", default: 10, in: 1...3600)
        let webhookHTTP = reader.boolean("WEBHOOK_ALLOW_HTTP", default: false)
        let webhookPrivate = reader.boolean("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default: false)
        let validationMilliseconds = reader.integer("CHECKIN_VALIDATION_TIMEOUT_MS", default: 750, in: 50...10_000)
        let validationOnError = reader.value("CHECKIN_VALIDATION_ON_ERROR")?.lowercased() ?? "refuse"
        if !["admit", "refuse"].contains(validationOnError) {
            reader.problem("CHECKIN_VALIDATION_ON_ERROR must be admit or refuse")
        }
        let metricsToken = reader.env["METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let metricsToken, metricsToken.utf8.count < 16 {
            reader.problem("METRICS_TOKEN must have at least 16 characters (or be unset)")
        }
        guard reader.problems.isEmpty, let databaseURL, let port, let secretKey, let biometricKey, let dimensions,
              let logLevel, let maxBytes, let maxPixels, let engine, let backend, let efSearch, let checkSeconds,
              let accessMinutes, let refreshDays, let perMinute, let burst, let loginPerMinute, let dedupSeconds,
              let databaseWaitMilliseconds, let statementMilliseconds, let shutdownSeconds, let readyPerMinute,
              let idleSeconds, let bodySeconds, let instances, let graceSeconds, let auditDays, let checkinDays, let attemptDays,
              let inflightBytes, let minTurn, let webhookHours, let webhookInitialSeconds, let webhookHTTP,
              let webhookPrivate, let validationMilliseconds
        else { throw ConfigurationError(problems: reader.problems) }
        self.init(
            databaseURL: databaseURL, host: host, port: port, secretKey: secretKey, biometricEncryptionKey: biometricKey,
            superAdmin: superAdmin, embeddingDimensions: dimensions, logLevel: logLevel,
            imageLimits: .init(maxBytes: maxBytes, maxPixels: maxPixels), engine: engine, searchBackend: backend,
            hnswEfSearch: efSearch, galleryCheckInterval: .seconds(checkSeconds),
            accessTokenLifetime: .seconds(accessMinutes * 60), refreshTokenLifetime: .seconds(refreshDays * 86_400),
            rateLimitPerMinute: perMinute, rateLimitBurst: burst, loginRateLimitPerMinute: loginPerMinute,
            checkinDedupSeconds: dedupSeconds, allowedOrigins: origins)
        databaseWait = .milliseconds(databaseWaitMilliseconds)
        databaseStatementTimeout = .milliseconds(statementMilliseconds)
        shutdownTimeout = .seconds(shutdownSeconds)
        readyRateLimitPerMinute = readyPerMinute
        liveness.minTurnDegrees = minTurn
        httpIdleTimeout = .seconds(idleSeconds)
        requestBodyTimeout = .seconds(bodySeconds)
        rateLimitInstances = instances
        refreshReuseGrace = .seconds(graceSeconds)
        retention = Retention(auditDays: auditDays, checkinDays: checkinDays, attemptDays: attemptDays)
        maxInflightImageBytes = inflightBytes == 0 ? nil : inflightBytes
        previousBiometricKeys = previousKeys
        trustedProxies = trusted
        trustedProxyHeader = proxyHeader ?? .xForwardedFor
        self.metricsToken = metricsToken
        webhooks.retryWindow = .seconds(webhookHours * 3600)
        webhooks.initialBackoff = .seconds(webhookInitialSeconds)
        webhooks.allowHTTP = webhookHTTP
        webhooks.allowPrivateNetworks = webhookPrivate
        webhooks.validationTimeout = .milliseconds(validationMilliseconds)
        webhooks.validationAdmitsOnError = validationOnError == "admit"
    }

    /// Only what the database commands need (`facegate migrate`).
    public static func databaseURL(environment env: [String: String]) throws(ConfigurationError) -> String {
        var reader = ConfigurationReader(env)
        guard let url = reader.databaseURL() else { throw ConfigurationError(problems: reader.problems) }
        return url
    }
}

/// Reads variables one by one, collecting problems instead of stopping at the first.
struct ConfigurationReader {
    let env: [String: String]
    var problems: [String] = []

    init(_ env: [String: String]) { self.env = env }

    mutating func problem(_ text: String) { problems.append(text) }

    func value(_ name: String) -> String? {
        guard let value = env[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func string(_ name: String, default fallback: String) -> String { value(name) ?? fallback }

    mutating func required<T>(_ name: String, describe: String, _ parse: (String) -> T?) -> T? {
        guard let raw = value(name) else {
            problem("\(name) is not set (expected \(describe))")
            return nil
        }
        guard let parsed = parse(raw) else {
            problem("\(name) is invalid (expected \(describe))")
            return nil
        }
        return parsed
    }

    mutating func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int? {
        bounded(name, default: fallback, in: range, kind: "a whole number")
    }

    mutating func number(_ name: String, default fallback: Double, in range: ClosedRange<Double>) -> Double? {
        bounded(name, default: fallback, in: range, kind: "a number")
    }

    private mutating func bounded<T: LosslessStringConvertible & Comparable>(
        _ name: String, default fallback: T, in range: ClosedRange<T>, kind: String
    ) -> T? {
        guard let raw = value(name) else { return fallback }
        guard let number = T(raw), range.contains(number) else {
            problem("\(name) is '\(raw)'; expected \(kind) from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }

    mutating func boolean(_ name: String, default fallback: Bool) -> Bool? {
        guard let raw = value(name) else { return fallback }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            problem("\(name) is '\(raw)'; expected true or false")
            return nil
        }
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, default fallback: T) -> T?
    where T.RawValue == String {
        guard let raw = value(name) else { return fallback }
        guard let choice = T(rawValue: raw.lowercased()) else {
            problem("\(name) is '\(raw)'; expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return choice
    }

    mutating func databaseURL() -> String? {
        required("DATABASE_URL", describe: "postgres://user:password@host:port/database") { raw in
            (try? DatabaseURL.configuration(from: raw)) != nil ? raw : nil
        }
    }

    mutating func superAdmin() -> UserStore.SuperAdminCredentials? {
        let username = value("SUPER_ADMIN_USERNAME"), password = value("SUPER_ADMIN_PASSWORD")
        switch (username, password) {
        case (nil, nil):
            return nil
        case (.some, nil):
            problem("SUPER_ADMIN_PASSWORD is not set but SUPER_ADMIN_USERNAME is")
        case (nil, .some):
            problem("SUPER_ADMIN_USERNAME is not set but SUPER_ADMIN_PASSWORD is")
        case (.some(let username), .some(let password)):
            if password.count < 12 { problem("SUPER_ADMIN_PASSWORD must have at least 12 characters") }
            if password.utf8.count > 72 { problem("SUPER_ADMIN_PASSWORD must be at most 72 bytes (bcrypt ignores the rest)") }
            if username.count > 100 { problem("SUPER_ADMIN_USERNAME must have at most 100 characters") }
            if password.count >= 12 && password.utf8.count <= 72 && username.count <= 100 {
                return .init(username: username, password: password, email: value("SUPER_ADMIN_EMAIL"))
            }
        }
        return nil
    }

    mutating func origins() -> Set<String> {
        guard let raw = value("ALLOWED_ORIGINS") else { return [] }
        var origins = Set<String>()
        for item in raw.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let url = URL(string: item), let scheme = url.scheme, ["http", "https"].contains(scheme),
                  url.host != nil, url.path.isEmpty || url.path == "/" else {
                problem("ALLOWED_ORIGINS has '\(item)'; expected origins like https://desk.example.org")
                continue
            }
            origins.insert(item.hasSuffix("/") ? String(item.dropLast()) : item)
        }
        return origins
    }

    mutating func logLevel() -> Logger.Level? {
        guard let raw = value("LOG_LEVEL") else { return .info }
        guard let level = Logger.Level(rawValue: raw.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            problem("LOG_LEVEL is '\(raw)'; expected one of \(names)")
            return nil
        }
        return level
    }
}
