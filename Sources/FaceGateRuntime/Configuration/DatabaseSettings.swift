import Storage

/// PostgreSQL: where it is, and how long a request waits for it.
public struct DatabaseSettings: Sendable {
    /// `DATABASE_URL` (required): `postgres://user:password@host:port/database`.
    public var url = ""
    /// `DATABASE_WAIT_MS`: how long a request waits for a database connection before it is answered 503
    /// `database_unavailable` (while PostgreSQL is down, instead of waiting for it to return).
    public var connectionWait: Duration = Database.defaultConnectionWait
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: the longest a request's database work may take once it has a connection; past
    /// it the request is answered 503 `database_unavailable` and the connection closed (a stalled or stopped server).
    public var statementTimeout: Duration = .seconds(10)
    /// How long `/ready` waits for the database before calling it unreachable.
    public var readinessTimeout: Duration = .seconds(2)

    public init() {}

    mutating func read(_ reader: inout ConfigurationReader) {
        if let url = reader.required(
            "DATABASE_URL", describe: "postgres://user:password@host:port/database",
            { raw in
                (try? DatabaseURL.configuration(from: raw)) != nil ? raw : nil
            })
        {
            self.url = url
        }
        reader.read("DATABASE_WAIT_MS", &connectionWait, unit: .milliseconds(1), in: 50...60_000)
        reader.read("DATABASE_STATEMENT_TIMEOUT_MS", &statementTimeout, unit: .milliseconds(1), in: 100...600_000)
    }
}
