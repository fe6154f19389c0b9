import FaceGateAPI
import Foundation
import HummingbirdTesting
import TestSupport

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
    configuration.bcryptCost = 4
    configuration.readinessTimeout = .seconds(1)
    return configuration
}

/// The whole service built by `buildApplication` on a fresh database of its own (adjusted by `adjust`), driven
/// through its router by `body`, which also gets the database's URL.
func withApplication<T: Sendable>(
    _ adjust: @escaping @Sendable (inout AppConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol, _ databaseURL: String) async throws -> T
) async throws -> T {
    try await TestDatabase.withFreshDatabase { url in
        var configuration = try testConfiguration(databaseURL: url)
        adjust(&configuration)
        return try await buildApplication(configuration).test(.router) { client in try await body(client, url) }
    }
}
