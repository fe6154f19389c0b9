extension Migration {
    /// Which token replaced a refresh token when it was rotated (NULL for one revoked otherwise: logout, a password
    /// change, a reuse), so that a client that lost the answer to a refresh can present the token again within a
    /// short grace instead of having its session revoked as if the token had been stolen.
    static let v5RefreshGrace = Migration(
        version: 5,
        name: "refresh_grace",
        statements: [
            "ALTER TABLE refresh_tokens ADD COLUMN replaced_by uuid"
        ])
}
