extension Migration {
    /// pgvector itself (an external database has no init script), organisations, staff accounts and the audit log.
    static let v1Foundation = Migration(
        version: 1,
        name: "foundation",
        statements: [
            "CREATE EXTENSION IF NOT EXISTS vector",
            """
            CREATE TABLE organizations (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name))",
            """
            CREATE TABLE users (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                username text NOT NULL CHECK (length(username) BETWEEN 1 AND 100),
                email text,
                password_hash text NOT NULL,
                role text NOT NULL CHECK (role IN ('admin', 'operator', 'kiosk')),
                is_super_admin boolean NOT NULL DEFAULT false,
                disabled boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CHECK (NOT is_super_admin OR role = 'admin')
            )
            """,
            "CREATE UNIQUE INDEX users_username_key ON users (lower(username))",
            "CREATE UNIQUE INDEX users_email_key ON users (organization_id, lower(email)) WHERE email IS NOT NULL",
            """
            CREATE TABLE audit_log (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                occurred_at timestamptz NOT NULL DEFAULT now(),
                organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
                actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
                action text NOT NULL,
                target text,
                details jsonb NOT NULL DEFAULT '{}'::jsonb
            )
            """,
            "CREATE INDEX audit_log_org_time ON audit_log (organization_id, occurred_at DESC)",
        ])
}
