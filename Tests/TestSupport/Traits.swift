import Testing

extension Trait where Self == ConditionTrait {
    /// Skips (with the reason) without the test cluster `scripts/test` starts: plain `swift test` runs the unit tier.
    public static var requiresDatabase: Self {
        .enabled(if: TestEnvironment.databaseAvailable, Comment(rawValue: TestEnvironment.databaseMissing))
    }

    /// Skips (with the reason) when ../shared/faces is absent.
    public static var requiresFaces: Self {
        .enabled(if: TestEnvironment.facesAvailable, Comment(rawValue: TestEnvironment.facesMissing))
    }

    /// Skips when the models are missing (scripts/setup fetches them).
    public static var requiresModels: Self {
        .enabled(if: TestEnvironment.modelsAvailable, "models missing; run scripts/setup")
    }

    public static var requiresFacesAndModels: Self {
        .enabled(
            if: TestEnvironment.facesAvailable && TestEnvironment.modelsAvailable,
            Comment(
                rawValue: TestEnvironment.facesAvailable
                    ? "models missing at \(TestEnvironment.modelsDirectory); run scripts/setup"
                    : TestEnvironment.facesMissing))
    }
}
