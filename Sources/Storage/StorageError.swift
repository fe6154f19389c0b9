/// Errors of the storage layer that callers act on; postgres-nio's own errors pass through unchanged.
public enum StorageError: Error, Equatable, CustomStringConvertible {
    case schemaNewerThanCode(database: Int, code: Int)
    case missingSuperAdminCredentials
    case timedOut(String)

    public var description: String {
        switch self {
        case .schemaNewerThanCode(let database, let code):
            "the database schema is at version \(database) but this build only knows up to \(code); upgrade facegate"
        case .missingSuperAdminCredentials:
            "no super admin exists yet: set SUPER_ADMIN_USERNAME and SUPER_ADMIN_PASSWORD for the first start"
        case .timedOut(let what):
            "\(what) timed out"
        }
    }
}
