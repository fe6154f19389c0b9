/// One versioned schema change: a list of SQL statements applied in one transaction.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

extension Migration {
    /// Every migration of the schema, in version order. Append; never edit one that has shipped.
    public static let all: [Migration] = [
        .v1Foundation,
        .v2Gallery,
        .v3Auth,
        .v4Checkins,
        .v5RefreshGrace,
        .v6Idempotency,
        .v7ThumbnailKeys,
        .v8RetentionIndexes,
        .v9FaceModels,
        .v10ModelActivation,
        .v11TemplateKeys,
        .v12FrontDesk,
        .v13Liveness,
        .v14PhotoDigests,
        .v15Webhooks,
    ]

    public static var latestVersion: Int { all.last?.version ?? 0 }
}
