extension Migration {
    /// Refresh tokens, stored only as SHA-256 hashes. Each login starts a family; each refresh revokes the token it
    /// used and adds the next one to the family, so reusing a revoked token is detectable (and revokes the family).
    static let v3Auth = Migration(
        version: 3,
        name: "auth",
        statements: [
            """
            CREATE TABLE refresh_tokens (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                family_id uuid NOT NULL,
                token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                revoked_at timestamptz
            )
            """,
            "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
            "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)",
        ])
}
