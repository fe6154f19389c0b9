extension Migration {
    /// Check-ins. A member's check-ins may not overlap within their de-duplication window: an exclusion constraint
    /// (btree_gist) makes the database refuse the second one, so that two kiosks at once cannot both record it.
    static let v4Checkins = Migration(
        version: 4,
        name: "checkins",
        statements: [
            "CREATE EXTENSION IF NOT EXISTS btree_gist",
            """
            CREATE TABLE checkins (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                organization_id uuid NOT NULL,
                member_id uuid NOT NULL,
                face_id uuid,
                distance real NOT NULL,
                similarity real NOT NULL,
                checked_in_at timestamptz NOT NULL DEFAULT now(),
                dedup_until timestamptz NOT NULL,
                recorded_by uuid REFERENCES users (id) ON DELETE SET NULL,
                FOREIGN KEY (organization_id, member_id) REFERENCES members (organization_id, id) ON DELETE CASCADE,
                CHECK (dedup_until >= checked_in_at),
                CONSTRAINT checkins_dedup EXCLUDE USING gist (
                    member_id WITH =, tstzrange(checked_in_at, dedup_until) WITH &&)
            )
            """,
            "CREATE INDEX checkins_organization_time ON checkins (organization_id, checked_in_at DESC, id DESC)",
            "CREATE INDEX checkins_member_time ON checkins (member_id, checked_in_at DESC)",
        ])
}
