extension Migration {
    /// The face model every instance matches with, once an operator has switched models while the service runs
    /// (`facegate faces reembed --activate`): one row, absent until the first switch.
    static let v10ModelActivation = Migration(
        version: 10,
        name: "face_model_activation",
        statements: [
            """
            CREATE TABLE face_model_activation (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                model text NOT NULL,
                model_version text NOT NULL,
                activated_at timestamptz NOT NULL DEFAULT now()
            )
            """
        ])
}
