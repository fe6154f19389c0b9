extension Migration {
    /// The id of the key each thumbnail is sealed under (NULL: sealed before key ids, without associated data), so
    /// that `BIOMETRIC_ENCRYPTION_KEY` can be rotated.
    static let v7ThumbnailKeys = Migration(
        version: 7,
        name: "thumbnail_keys",
        statements: [
            "ALTER TABLE faces ADD COLUMN thumbnail_key_id text"
        ])
}
