import Foundation
import Gallery
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Storage
import Synchronization
import TestSupport
import Testing

@testable import FaceGateAPI

struct ReadyBody: Decodable {
    struct Database: Decodable {
        var ok: Bool
        var pgvector_version: String?
    }
    struct Schema: Decodable {
        var ok: Bool
        var version: Int?
        var expected: Int
    }
    struct Models: Decodable { var ok: Bool }
    struct Gallery: Decodable {
        var ok: Bool
        var backend: String
        var faces: Int?
        var in_sync: Bool
        var listening: Bool?
    }
    struct Checks: Decodable {
        var database: Database
        var schema: Schema
        var models: Models
        var gallery: Gallery
    }
    var status: String
    var failing: [String]
    var checks: Checks
}

@Suite("Health and readiness", .requiresDatabase)
struct HealthTests {
    @Test("/ready probes the database at most once a second, whatever the rate it is asked at")
    func probeIsCached() async {
        let cache = ProbeCache(maxAge: .seconds(1))
        let probes = Mutex(0)
        let start = ContinuousClock.now
        let probe: () async -> ProbeCache.Outcome = {
            probes.withLock { $0 += 1 }
            return .unreachable("down")
        }
        for offset in [0, 100, 500, 999] { _ = await cache.outcome(now: start + .milliseconds(offset), probe) }
        #expect(probes.withLock { $0 } == 1)
        _ = await cache.outcome(now: start + .milliseconds(1000), probe)
        _ = await cache.outcome(now: start + .milliseconds(1500), probe)
        #expect(probes.withLock { $0 } == 2)
    }

    @Test("/ready is rate-limited per client address; /metrics asks for METRICS_TOKEN when it is set")
    func readyLimitAndMetricsToken() async throws {
        let token = "metrics-token-for-the-scraper"
        // A burst of 5 with 5 more a minute: a loaded machine's slow calls cannot refill it in time.
        try await withApplication({
            $0.limits.readyChecksPerMinute = 5
            $0.server.metricsToken = token
        }) { client, _ in
            var retryAfter: String?
            for _ in 0..<30 where retryAfter == nil {
                try await client.execute(uri: "/ready", method: .get) {
                    if $0.status == .tooManyRequests { retryAfter = $0.headers[.retryAfter] ?? "missing" }
                }
            }
            #expect(retryAfter != nil && retryAfter != "missing")
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/metrics", method: .get, headers: [.authorization: "Bearer wrong-token-of-a-kind"]
            ) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test("/health is live; /ready checks database, schema, models and the gallery for real")
    func readyOnMigratedDatabase() async throws {
        try await withApplication { client, _ in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
            }
            let body = try await waitForReady(client)
            #expect(body.status == "ready" && body.failing.isEmpty)
            #expect(body.checks.database.pgvector_version?.hasPrefix("0.") == true)
            #expect(body.checks.schema.version == body.checks.schema.expected)
            #expect(body.checks.models.ok)
            #expect(body.checks.gallery.backend == "memory" && body.checks.gallery.faces == 0)
            #expect(body.checks.gallery.in_sync && body.checks.gallery.listening == true)
        }
    }

    @Test("with SEARCH_BACKEND=pgvector the service serves and /ready reports the backend without an index")
    func pgvectorBackend() async throws {
        try await withApplication({ $0.gallery.searchBackend = .pgvector }) { client, _ in
            let body = try await waitForReady(client)
            #expect(body.checks.gallery.backend == "pgvector" && body.checks.gallery.faces == nil)
            try await Task.sleep(for: .milliseconds(200))
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("an unknown path is a problem+json 404 with a stable code; every response carries X-Request-ID")
    func problemResponses() async throws {
        try await withApplication { client, _ in
            try await client.execute(uri: "/no/such/path", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["code"] as? String == "not_found")
                #expect(body?["status"] as? Int == 404)
                let requestID = try #require(response.headers[HTTPField.Name("X-Request-ID")!])
                #expect(body?["request_id"] as? String == requestID)
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.headers[HTTPField.Name("X-Request-ID")!]?.isEmpty == false)
            }
        }
    }

    /// /ready's body once it says ready (the gallery loads in the background after start), failing after 10 s.
    func waitForReady(_ client: some TestClientProtocol) async throws -> ReadyBody {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let (status, body) = try await client.execute(uri: "/ready", method: .get) { response in
                (response.status, try JSONDecoder().decode(ReadyBody.self, from: Data(buffer: response.body)))
            }
            if status == .ok || ContinuousClock.now > deadline {
                #expect(status == .ok, "not ready: \(body.failing)")
                return body
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("/ready is 503 naming the database while PostgreSQL is stopped, and 200 again after it returns")
    func readyFollowsDatabaseOutage() async throws {
        let cluster = PrivateCluster()
        try await cluster.start()
        do {
            try await checkOutage(of: cluster)
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    private func checkOutage(of cluster: PrivateCluster) async throws {
        let app = try await buildApplication(
            try testConfiguration(databaseURL: try await cluster.url()), recognizers: .testRecognizer)
        try await testBounded(app) { client in
            _ = try await waitForReady(client)

            try await cluster.stop()
            // The last probe's outcome is reused for a second (the gallery may notice first).
            var databaseDown = false
            let outageDeadline = ContinuousClock.now + .seconds(10)
            while !databaseDown && ContinuousClock.now < outageDeadline {
                try await client.execute(uri: "/ready", method: .get) { response in
                    let body = try? JSONDecoder().decode(ReadyBody.self, from: Data(buffer: response.body))
                    databaseDown = body?.failing.contains("database") == true
                }
                if !databaseDown { try await Task.sleep(for: .milliseconds(100)) }
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
                let text = String(buffer: response.body)
                let body = try JSONDecoder().decode(ReadyBody.self, from: Data(buffer: response.body))
                #expect(body.failing.contains("database"))
                #expect(!text.contains("PSQLError") && !text.contains("connection"), "internal detail leaked: \(text)")
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }

            try await cluster.start()
            let deadline = ContinuousClock.now + .seconds(30)
            var recovered = false
            while !recovered && ContinuousClock.now < deadline {
                try await client.execute(uri: "/ready", method: .get) { recovered = $0.status == .ok }
                if !recovered { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(recovered, "/ready did not recover within 30 s of PostgreSQL returning")
        }
    }

    @Test("start-up applies migrations and creates the super admin before serving")
    func startupMigrates() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let app = try await buildApplication(try testConfiguration(databaseURL: url), recognizers: .testRecognizer)
            try await testBounded(app) { _ in }
            try await TestDatabase.withClient(url) { client in
                let rows = try await client.query(
                    "SELECT count(*) FROM users WHERE is_super_admin", logger: TestDatabase.logger)
                for try await count in rows.decode(Int.self) { #expect(count == 1) }
            }
        }
    }

    @Test(
        """
        PostgreSQL itself ends a request's statement at DATABASE_STATEMENT_TIMEOUT_MS: after the 503 nothing of it runs \
        on in the database
        """)
    func serverSideStatementTimeout() async throws {
        // Long enough for the service's own start-up statements while every suite runs at once on two cores.
        try await withApplication({ $0.database.statementTimeout = .seconds(6) }) { client, url in
            try await TestDatabase.withClient(url) { database in
                try await database.withTransaction(logger: TestDatabase.logger) { connection in
                    // Every statement on users (a login's) waits for this transaction.
                    try await connection.query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE", logger: TestDatabase.logger)
                    let (status, body) = try await client.json(
                        .post, "/api/v1/auth/login",
                        body: [
                            "username": "admin", "password": "correct horse battery staple",
                        ])
                    #expect(
                        status == .serviceUnavailable && body["code"] as? String == "database_unavailable",
                        "\(status) \(body)")
                    // A backend waiting for a lock does not notice its client closing the connection: only the
                    // server's own statement_timeout ends the login's statement.
                    var waiting = 1
                    let deadline = ContinuousClock.now + .seconds(20)
                    while waiting > 0 && ContinuousClock.now < deadline {
                        let rows = try await connection.query(
                            """
                            SELECT count(*)::int FROM pg_stat_activity
                            WHERE datname = current_database() AND wait_event_type = 'Lock'
                            """, logger: TestDatabase.logger)
                        for try await count in rows.decode(Int.self) { waiting = count }
                        if waiting > 0 { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    #expect(waiting == 0, "a statement of the service still runs in PostgreSQL after its 503")
                }
            }
            // The service is well again at once: its connections were not lost.
            #expect(try await AuthTests.login(client).0 == .ok)
        }
    }

    @Test("start-up refuses a faces table whose embedding width is not the model's")
    func startupChecksEmbeddingWidth() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                try await Migrator().migrate(client, logger: TestDatabase.logger)
                try await client.query(
                    "ALTER TABLE faces ALTER COLUMN embedding TYPE vector(64) USING NULL",
                    logger: TestDatabase.logger)
            }
            let app = try await buildApplication(try testConfiguration(databaseURL: url), recognizers: .testRecognizer)
            await #expect(throws: StorageError.embeddingWidthMismatch(column: 64, model: 128)) {
                // The start-up fails inside the test framework's service group, which once (in 30-odd runs) never
                // returned after it: bounded as a whole, such a hang fails this test by name instead of hanging the run.
                try await withShutdownBound(.seconds(120), of: "a start-up that fails") { startClock in
                    startClock()
                    return try await testBounded(app) { _ in }
                }
            }
        }
    }
}
