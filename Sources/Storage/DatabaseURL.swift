import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// Turns a `postgres://user:password@host:port/database?sslmode=…` URL into a postgres-nio client configuration.
public enum DatabaseURL {
    public struct Invalid: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// What the URL names, before it becomes a pool's or a single connection's configuration.
    struct Parts {
        enum SSLMode { case disable, prefer, require }
        var host: String, port: Int, username: String, password: String?, database: String, sslMode: SSLMode
    }

    static func parts(of string: String) throws -> Parts {
        guard let url = URLComponents(string: string), let scheme = url.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else { throw Invalid(reason: "must be a postgres:// or postgresql:// URL") }
        guard let host = url.host, !host.isEmpty else { throw Invalid(reason: "has no host") }
        guard let user = url.user, !user.isEmpty else { throw Invalid(reason: "has no user name") }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !database.isEmpty else { throw Invalid(reason: "has no database name") }
        let sslMode: Parts.SSLMode
        switch url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable" {
        case "disable": sslMode = .disable
        case "prefer", "allow": sslMode = .prefer
        case "require", "verify-ca", "verify-full": sslMode = .require
        case let other: throw Invalid(reason: "has an unknown sslmode '\(other)'")
        }
        return Parts(
            host: host, port: url.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: url.password?.removingPercentEncoding, database: database, sslMode: sslMode)
    }

    /// Whether `string` sends passwords and biometric data in the clear over a network: `sslmode=disable` (the
    /// default) to a host that is not this machine.
    public static func isPlaintextOverNetwork(_ string: String) -> Bool {
        guard let parts = try? parts(of: string), parts.sslMode == .disable else { return false }
        let host = parts.host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return !(host == "localhost" || host == "::1" || host.hasPrefix("127."))
    }

    public static func configuration(from string: String) throws -> PostgresClient.Configuration {
        let parts = try parts(of: string)
        let tls: PostgresClient.Configuration.TLS
        switch parts.sslMode {
        case .disable: tls = .disable
        case .prefer: tls = try .prefer(.clientDefault)
        case .require: tls = try .require(.clientDefault)
        }
        var configuration = PostgresClient.Configuration(
            host: parts.host, port: parts.port, username: parts.username, password: parts.password,
            database: parts.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        // No keep-alive query: postgres-nio 1.33.2 can send it on a connection the pool has just closed, where it never
        // completes, and the client's run() then never returns (a hang at shutdown). Idle connections are closed by
        // the pool after its idle timeout instead, and a dead one fails its next statement at once.
        configuration.options.keepAliveBehavior = nil
        return configuration
    }

    /// Connects once to the database `string` names and closes again. The server's refusal (a database that does not
    /// exist, a wrong password) or the connection's failure is thrown at once, as itself: a pool keeps retrying
    /// instead and its callers wait (vapor/postgres-nio#489), which suits a server waiting for its database to come
    /// up, not a command an operator runs.
    public static func checkConnection(_ string: String, logger: Logger) async throws {
        let parts = try parts(of: string)
        let tls: PostgresConnection.Configuration.TLS
        switch parts.sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .clientDefault))
        case .require: tls = .require(try NIOSSLContext(configuration: .clientDefault))
        }
        var configuration = PostgresConnection.Configuration(
            host: parts.host, port: parts.port, username: parts.username, password: parts.password,
            database: parts.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        try await connection.close()
    }
}
