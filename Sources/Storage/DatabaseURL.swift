import Foundation
import PostgresNIO

/// Turns a `postgres://user:password@host:port/database?sslmode=…` URL into a postgres-nio client configuration.
public enum DatabaseURL {
    public struct Invalid: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public static func configuration(from string: String) throws -> PostgresClient.Configuration {
        guard let url = URLComponents(string: string), let scheme = url.scheme,
              scheme == "postgres" || scheme == "postgresql"
        else { throw Invalid(reason: "must be a postgres:// or postgresql:// URL") }
        guard let host = url.host, !host.isEmpty else { throw Invalid(reason: "has no host") }
        guard let user = url.user, !user.isEmpty else { throw Invalid(reason: "has no user name") }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !database.isEmpty else { throw Invalid(reason: "has no database name") }
        let sslMode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = try .prefer(.clientDefault)
        case "require", "verify-ca", "verify-full": tls = try .require(.clientDefault)
        default: throw Invalid(reason: "has an unknown sslmode '\(sslMode)'")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: url.password?.removingPercentEncoding, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        // No keep-alive query: postgres-nio 1.33.2 can send it on a connection the pool has just closed, where it never
        // completes, and the client's run() then never returns (a hang at shutdown). Idle connections are closed by
        // the pool after its idle timeout instead, and a dead one fails its next statement at once.
        configuration.options.keepAliveBehavior = nil
        return configuration
    }
}
