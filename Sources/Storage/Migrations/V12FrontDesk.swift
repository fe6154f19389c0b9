extension Migration {
    /// The front desk: an organisation's time zone (a membership's last day ends at its midnight), a member's
    /// membership (`status`, `valid_until`), PIN (a bcrypt hash; tries counted from the first of the last hour, locked
    /// past five until staff unlock it) and the tries of their member number this hour, how each check-in was made
    /// (`method`: by face, by member number and face, by face and PIN, or by staff with a `reason` and no distance),
    /// the confirmations a face in the PIN band waits on (the candidates stay on the server, bound to the asking
    /// account, a few tries, minutes), and every check-in attempt, admitted or refused, with its outcome
    /// (`checkin_attempts`; no photo). An erased member's attempts stay, no longer naming them.
    static let v12FrontDesk = Migration(
        version: 12,
        name: "front_desk",
        statements: [
            """
            ALTER TABLE organizations
                ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64)
            """,
            """
            ALTER TABLE members
                ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'cancelled')),
                ADD COLUMN valid_until date,
                ADD COLUMN pin_hash text CHECK (length(pin_hash) BETWEEN 20 AND 200),
                ADD COLUMN pin_failures integer NOT NULL DEFAULT 0 CHECK (pin_failures >= 0),
                ADD COLUMN pin_failures_since timestamptz,
                ADD COLUMN pin_locked_at timestamptz,
                ADD COLUMN code_tries integer NOT NULL DEFAULT 0 CHECK (code_tries >= 0),
                ADD COLUMN code_tries_since timestamptz
            """,
            """
            CREATE TABLE checkin_confirmations (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                account_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                members uuid[] NOT NULL CHECK (cardinality(members) BETWEEN 1 AND 3),
                faces uuid[] NOT NULL CHECK (cardinality(faces) = cardinality(members)),
                distances real[] NOT NULL CHECK (cardinality(distances) = cardinality(members)),
                attempts_left integer NOT NULL CHECK (attempts_left >= 0),
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX checkin_confirmations_expiry ON checkin_confirmations (expires_at)",
            """
            ALTER TABLE checkins
                ADD COLUMN method text NOT NULL DEFAULT 'face' CHECK (method IN ('face', 'code_face', 'face_pin', 'manual')),
                ADD COLUMN reason text CHECK (length(reason) BETWEEN 1 AND 500),
                ALTER COLUMN distance DROP NOT NULL,
                ALTER COLUMN similarity DROP NOT NULL,
                ADD CONSTRAINT checkins_distance_by_method CHECK ((method = 'manual') = (distance IS NULL))
            """,
            """
            CREATE TABLE checkin_attempts (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                occurred_at timestamptz NOT NULL DEFAULT now(),
                account_id uuid REFERENCES users (id) ON DELETE SET NULL,
                method text NOT NULL CHECK (length(method) BETWEEN 1 AND 40),
                outcome text NOT NULL CHECK (length(outcome) BETWEEN 1 AND 80),
                member_id uuid,
                distance real,
                reason text CHECK (length(reason) BETWEEN 1 AND 500),
                checkin_id uuid REFERENCES checkins (id) ON DELETE SET NULL,
                FOREIGN KEY (organization_id, member_id) REFERENCES members (organization_id, id)
                    ON DELETE SET NULL (member_id)
            )
            """,
            "CREATE INDEX checkin_attempts_organization_time ON checkin_attempts (organization_id, occurred_at DESC, id DESC)",
            "CREATE INDEX checkin_attempts_time ON checkin_attempts (occurred_at)",
            "CREATE INDEX checkin_attempts_member ON checkin_attempts (member_id) WHERE member_id IS NOT NULL",
        ])
}
