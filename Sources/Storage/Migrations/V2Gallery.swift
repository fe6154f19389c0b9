extension Migration {
    /// Members and their faces. Every insert or delete of a face row — whatever path made it, cascades included — is
    /// announced on `FaceChange.channel` by a statement-level trigger, so every instance's in-memory index can follow.
    static let v2Gallery = Migration(
        version: 2,
        name: "gallery",
        statements: [
            """
            CREATE TABLE members (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                external_id text CHECK (length(external_id) BETWEEN 1 AND 200),
                email text CHECK (length(email) BETWEEN 3 AND 320),
                metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (organization_id, id)
            )
            """,
            "CREATE UNIQUE INDEX members_external_id_key ON members (organization_id, external_id) WHERE external_id IS NOT NULL",
            "CREATE UNIQUE INDEX members_email_key ON members (organization_id, lower(email)) WHERE email IS NOT NULL",
            "CREATE INDEX members_name ON members (organization_id, lower(name))",
            // The face's organisation is the member's (composite foreign key); one row per photo per member
            // (image_sha256), so a retried enrolment cannot add the same face twice.
            """
            CREATE TABLE faces (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                organization_id uuid NOT NULL,
                member_id uuid NOT NULL,
                embedding vector(\(embeddingDimensions)) NOT NULL,
                model text NOT NULL,
                model_version text NOT NULL,
                quality jsonb NOT NULL DEFAULT '{}'::jsonb,
                box jsonb,
                image_sha256 bytea NOT NULL CHECK (length(image_sha256) = 32),
                thumbnail bytea,
                created_at timestamptz NOT NULL DEFAULT now(),
                FOREIGN KEY (organization_id, member_id) REFERENCES members (organization_id, id) ON DELETE CASCADE,
                UNIQUE (member_id, image_sha256)
            )
            """,
            "CREATE INDEX faces_organization ON faces (organization_id)",
            "CREATE INDEX faces_embedding_hnsw ON faces USING hnsw (embedding vector_cosine_ops)",
            // A face row never changes what it is: a new embedding is a new face.
            """
            CREATE FUNCTION faces_refuse_identity_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.id <> OLD.id OR NEW.organization_id <> OLD.organization_id OR NEW.member_id <> OLD.member_id
                   OR NEW.embedding <> OLD.embedding THEN
                    RAISE EXCEPTION 'a face row''s id, organisation, member and embedding cannot change';
                END IF;
                RETURN NEW;
            END $$
            """,
            """
            CREATE TRIGGER faces_immutable BEFORE UPDATE ON faces
            FOR EACH ROW EXECUTE FUNCTION faces_refuse_identity_change()
            """,
            // One notification per changed face; a statement touching more than 1000 rows of an organisation
            // (bulk import, an organisation deleted) sends one 'reload' for it instead.
            """
            CREATE FUNCTION faces_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                row record;
                op text := CASE TG_OP WHEN 'INSERT' THEN 'add' ELSE 'remove' END;
            BEGIN
                FOR row IN
                    SELECT organization_id, count(*) AS n FROM changed_faces GROUP BY organization_id HAVING count(*) > 1000
                LOOP
                    PERFORM pg_notify('\(FaceChange.channel)', json_build_object('op', 'reload', 'org', row.organization_id)::text);
                END LOOP;
                FOR row IN
                    SELECT id, organization_id, member_id FROM changed_faces WHERE organization_id IN (
                        SELECT organization_id FROM changed_faces GROUP BY organization_id HAVING count(*) <= 1000)
                LOOP
                    PERFORM pg_notify('\(FaceChange.channel)', json_build_object(
                        'op', op, 'org', row.organization_id, 'face', row.id, 'member', row.member_id)::text);
                END LOOP;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER faces_added AFTER INSERT ON faces REFERENCING NEW TABLE AS changed_faces
            FOR EACH STATEMENT EXECUTE FUNCTION faces_notify()
            """,
            """
            CREATE TRIGGER faces_removed AFTER DELETE ON faces REFERENCING OLD TABLE AS changed_faces
            FOR EACH STATEMENT EXECUTE FUNCTION faces_notify()
            """,
            """
            CREATE FUNCTION faces_notify_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('\(FaceChange.channel)', json_build_object('op', 'reload_all')::text);
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER faces_truncated AFTER TRUNCATE ON faces
            FOR EACH STATEMENT EXECUTE FUNCTION faces_notify_truncate()
            """,
        ])

    /// The width of `faces.embedding`; the service checks at start that the face model produces this many.
    public static let embeddingDimensions = 128
}
