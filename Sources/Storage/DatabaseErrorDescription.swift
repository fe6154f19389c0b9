import PostgresNIO

/// What a log line says of `error`: `databaseErrorDescription` (no row values) for the database's, else the error
/// in full.
public func loggedDescription(of error: any Error) -> String {
    databaseErrorDescription(error) ?? String(reflecting: error)
}

/// What went wrong with the database, in PostgreSQL's own words (SQLSTATE, message, constraint, hint) or the
/// connection's, for operators: the CLI prints it, the server logs it. `PSQLError.description` is deliberately a
/// generic sentence. PostgreSQL's DETAIL quotes row values (an email in a unique violation): it is included only
/// `withValues` (the CLI, for the operator's own database), never in the server's logs. Nil for errors that are not
/// the database's.
public func databaseErrorDescription(_ error: any Error, withValues: Bool = false) -> String? {
    switch error {
    case let error as PSQLError:
        var parts: [String] = []
        if let info = error.serverInfo {
            let severity = info[.localizedSeverity] ?? info[.severity] ?? "ERROR"
            parts.append("\(severity) \(info[.sqlState] ?? "?????"): \(info[.message] ?? "")")
            if let constraint = info[.constraintName] { parts.append("constraint \(constraint)") }
            if withValues, let detail = info[.detail] { parts.append("DETAIL: \(detail)") }
            if let hint = info[.hint] { parts.append("HINT: \(hint)") }
        } else {
            parts.append("\(error.code)")
            if let underlying = error.underlying { parts.append(String(reflecting: underlying)) }
        }
        return parts.joined(separator: "; ")
    case let error as PostgresTransactionError:
        return [error.beginError, error.closureError, error.rollbackError, error.commitError]
            .compactMap { $0.flatMap { databaseErrorDescription($0, withValues: withValues) } }.first
    default:
        return nil
    }
}

/// The database failures a caller answers in their own way rather than as the service's fault.
public enum DatabaseFailure: Sendable, Equatable {
    /// The connection went away, or the server is shutting down or cannot take connections now (SQLSTATE 08, 57P);
    /// inside a transaction: it was not committed, or (lost during COMMIT) it is whole — nothing is half-written.
    case outage
    /// A data exception (SQLSTATE 22): a value PostgreSQL cannot store or compare, such as text with a NUL character.
    case invalidValue

    /// What `error` is, if it is one of these.
    public init?(_ error: any Error) {
        switch error {
        case let error as PSQLError where Self.isOutage(error):
            self = .outage
        case let error as PSQLError where error.serverInfo?[.sqlState]?.hasPrefix("22") == true:
            self = .invalidValue
        case let error as PostgresTransactionError
        where [error.beginError, error.commitError, error.rollbackError, error.closureError]
            .contains(where: { ($0 as? PSQLError).map(Self.isOutage) == true }):
            self = .outage
        default:
            return nil
        }
    }

    static func isOutage(_ error: PSQLError) -> Bool {
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return false
        }
    }
}
