extension Migration {
    /// Liveness at the kiosk: each organisation's policy (`challenge`, the default: a kiosk's check-in is a head turn
    /// the service asked for; `off`: its terminals bring their own liveness), and the challenges handed out (a turn
    /// direction bound to the asking account, single use, seconds long; purged with the retention).
    static let v13Liveness = Migration(
        version: 13,
        name: "liveness",
        statements: [
            """
            ALTER TABLE organizations
                ADD COLUMN liveness text NOT NULL DEFAULT 'challenge' CHECK (liveness IN ('challenge', 'off'))
            """,
            """
            CREATE TABLE checkin_challenges (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                account_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                turn text NOT NULL CHECK (turn IN ('left', 'right')),
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX checkin_challenges_expiry ON checkin_challenges (expires_at)",
        ])
}
