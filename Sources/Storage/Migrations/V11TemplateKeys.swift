extension Migration {
    /// The key each face's template is stored under (`TemplateKeys`; NULL: stored plain, before this protection). A
    /// face's embedding may change only together with its key — `facegate keys rotate` re-transforming it — never to
    /// another face's.
    static let v11TemplateKeys = Migration(
        version: 11,
        name: "template_keys",
        statements: [
            "ALTER TABLE faces ADD COLUMN template_key_id text",
            """
            CREATE OR REPLACE FUNCTION faces_refuse_identity_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.id <> OLD.id OR NEW.organization_id <> OLD.organization_id OR NEW.member_id <> OLD.member_id
                   OR (NEW.embedding <> OLD.embedding AND NEW.template_key_id IS NOT DISTINCT FROM OLD.template_key_id) THEN
                    RAISE EXCEPTION 'a face row''s id, organisation, member and embedding cannot change (its template only with its key)';
                END IF;
                RETURN NEW;
            END $$
            """,
        ])
}
