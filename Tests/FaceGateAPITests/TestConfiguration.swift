import FaceGateAPI
import FaceGateRuntime
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// A complete, valid environment for the service, pointed at `databaseURL`.
func testEnvironment(databaseURL: String) -> [String: String] {
    [
        "DATABASE_URL": databaseURL,
        "SECRET_KEY": String(repeating: "k", count: 40),
        "BIOMETRIC_ENCRYPTION_KEY": Data(repeating: 7, count: 32).base64EncodedString(),
        "SUPER_ADMIN_USERNAME": "admin",
        "SUPER_ADMIN_PASSWORD": "correct horse battery staple",
        "MODELS_DIR": TestEnvironment.modelsDirectory,
        "ENGINE_WORKERS": "1",
        "LOG_LEVEL": "warning",
    ]
}

func testConfiguration(databaseURL: String) throws -> AppConfiguration {
    var configuration = try AppConfiguration(environment: testEnvironment(databaseURL: databaseURL))
    configuration.security.bcryptCost = 4
    configuration.database.readinessTimeout = .seconds(1)
    configuration.database.connectionWait = TestDatabase.testConnectionWait
    configuration.database.statementTimeout = .seconds(120)  // every suite runs at once on a small machine
    return configuration
}

extension RecognizerSource {
    /// `TestRecognizer`'s engines: for suites about authentication, HTTP and storage, which then need no model files.
    static var testRecognizer: RecognizerSource { .made { TestRecognizer() } }
}

/// The whole service built by `buildApplication` on a fresh database of its own (adjusted by `adjust`), driven
/// through its router by `body` once `/ready` says ready; `body` also gets the database's URL. Its engines run
/// `TestRecognizer` unless `recognizers` says otherwise (`.modelFiles` for the suites about faces).
func withApplication<T: Sendable>(
    _ adjust: @escaping @Sendable (inout AppConfiguration) -> Void = { _ in },
    recognizers: RecognizerSource = .testRecognizer,
    _ body: @escaping @Sendable (any TestClientProtocol, _ databaseURL: String) async throws -> T
) async throws -> T {
    try await TestDatabase.withFreshDatabase { url in
        var configuration = try testConfiguration(databaseURL: url)
        adjust(&configuration)
        return try await describingDatabaseErrors("the application under test") {
            try await testBounded(try await buildApplication(configuration, recognizers: recognizers)) { client in
                try await untilReady(client)
                return try await body(client, url)
            }
        }
    }
}

/// Waits (at most 20 s) for `/ready`: the gallery loads in the background after start; until then searches answer 503.
func untilReady(_ client: any TestClientProtocol) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
        let status = try await client.execute(uri: "/ready", method: .get) { response in response.status }
        if status == .ok { return }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// `app.test(.router)`, with the application's shutdown after `body` bounded by `shutdownBound`: a dependency that
/// never returns at shutdown fails the test (`ShutdownTimedOut`) instead of hanging the run.
func testBounded<T: Sendable>(
    _ app: some ApplicationProtocol, shutdownBound: Duration = .seconds(30),
    _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
) async throws -> T {
    try await withShutdownBound(shutdownBound, of: "the application under test") { workDone in
        try await app.test(.router) { client in
            defer { workDone() }
            return try await body(client)
        }
    }
}

extension TestClientProtocol {
    /// Sends `body` as JSON with `token` as bearer; returns the status and the JSON object answered (empty if none).
    func json(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: [String: Any]? = nil
    ) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await execute(uri: uri, method: method, headers: headers, body: data.map { ByteBuffer(bytes: $0) }) {
            response in
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
            return (response.status, object ?? [:])
        }
    }

    /// Sets the organisation of `admin` to liveness `off`, as for terminals that bring their own liveness: its kiosk
    /// accounts check in with single photos (the suites about matching and the front desk; `LivenessTests` is about
    /// the challenge).
    func turnLivenessOff(admin: String) async throws {
        let organization = try #require(
            try await json(.get, "/api/v1/auth/me", token: admin).body["organization_id"] as? String)
        let answer = try await json(
            .patch, "/api/v1/organizations/\(organization)", token: admin, body: ["liveness": "off"])
        try #require(answer.status == .ok, "\(answer.body)")
    }

    /// Logs in and returns the access token (the test super admin by default).
    func accessToken(username: String = "admin", password: String = "correct horse battery staple") async throws
        -> String
    {
        let (status, body) = try await json(
            .post, "/api/v1/auth/login", body: ["username": username, "password": password])
        guard status == .ok, let token = body["access_token"] as? String else {
            throw LoginFailed(status: status, body: body.description)
        }
        return token
    }
}

struct LoginFailed: Error {
    let status: HTTPResponse.Status
    let body: String
}
