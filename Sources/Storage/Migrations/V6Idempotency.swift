extension Migration {
    /// The answers to requests sent with an `Idempotency-Key`, per account, so that a retried request gets the first
    /// answer instead of doing the work again. A row without a status is a request still running.
    static let v6Idempotency = Migration(
        version: 6,
        name: "idempotency",
        statements: [
            """
            CREATE TABLE idempotency_keys (
                user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
                request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
                status integer,
                content_type text,
                body bytea,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (user_id, key)
            )
            """,
            "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
        ])
}
