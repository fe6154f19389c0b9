extension Migration {
    /// A face's photo is kept as a keyed digest (`TemplateKeys.photoDigest`), not its plain SHA-256: the column is
    /// renamed for what it holds and names the key it is under (NULL: a plain SHA-256 stored before, until
    /// `keys rotate` keys it). Like the template, the digest changes only together with its key.
    static let v14PhotoDigests = Migration(
        version: 14,
        name: "photo_digests",
        statements: [
            "ALTER TABLE faces RENAME COLUMN image_sha256 TO photo_digest",
            "ALTER TABLE faces ADD COLUMN photo_digest_key_id text",
            """
            CREATE OR REPLACE FUNCTION faces_refuse_identity_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.id <> OLD.id OR NEW.organization_id <> OLD.organization_id OR NEW.member_id <> OLD.member_id
                   OR (NEW.embedding <> OLD.embedding AND NEW.template_key_id IS NOT DISTINCT FROM OLD.template_key_id)
                   OR (NEW.photo_digest <> OLD.photo_digest
                       AND NEW.photo_digest_key_id IS NOT DISTINCT FROM OLD.photo_digest_key_id) THEN
                    RAISE EXCEPTION 'a face row''s id, organisation, member, embedding and photo digest cannot change (its template and digest only with their keys)';
                END IF;
                RETURN NEW;
            END $$
            """,
        ])
}
