extension Migration {
    /// Faces name the model that made them by its short name (`dlib`, `sface`), as `FACE_MODEL` does: the first
    /// version stored dlib's embedder file name. Searches compare only faces of the active model and version, found
    /// by this index.
    static let v9FaceModels = Migration(
        version: 9,
        name: "face_models",
        statements: [
            "UPDATE faces SET model = 'dlib' WHERE model = 'dlib_face_recognition_resnet_model_v1.dat'",
            "CREATE INDEX faces_model ON faces (organization_id, model, model_version)",
        ])
}
