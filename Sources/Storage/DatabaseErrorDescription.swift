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
