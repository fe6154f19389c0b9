extension Migration {
    /// Indexes on the times the retention purge selects by, so that it does not scan whole tables every hour.
    static let v8RetentionIndexes = Migration(
        version: 8,
        name: "retention_indexes",
        statements: [
            "CREATE INDEX audit_log_time ON audit_log (occurred_at)",
            "CREATE INDEX checkins_time ON checkins (checked_in_at)",
            "CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at)",
        ])
}
