extension Migration {
    /// Searches compare only faces of the active model and version (`faces.model`: `sface`, or dlib's embedder file
    /// name as before), found by the new index. Each face keeps a sealed crop of its photo (the face with a wide margin) that any model can
    /// embed again, so one photo is a face once per model: the uniqueness moves to (member, photo, model, version).
    static let v9FaceModels = Migration(
        version: 9,
        name: "face_models_and_crops",
        statements: [
            "CREATE INDEX faces_model ON faces (organization_id, model, model_version)",
            "ALTER TABLE faces ADD COLUMN crop bytea, ADD COLUMN crop_key_id text",
            "ALTER TABLE faces DROP CONSTRAINT faces_member_id_image_sha256_key",
            "ALTER TABLE faces ADD CONSTRAINT faces_member_photo_model_key UNIQUE (member_id, image_sha256, model, model_version)",
        ])
}
