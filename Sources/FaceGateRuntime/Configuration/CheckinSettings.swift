import Liveness

/// The door: repeated check-ins and the liveness challenge.
public struct CheckinSettings: Sendable {
    /// `CHECKIN_DEDUP_SECONDS`: a member's second check-in within this time returns the first instead (0: off).
    public var dedupSeconds = 300
    /// `LIVENESS_MIN_TURN_DEGREES`: how far a challenge's head turn must go the asked way (the other thresholds of
    /// `LivenessCheck` come from measured landmark noise).
    public var liveness = LivenessSettings.default

    public init() {}

    mutating func read(_ reader: inout ConfigurationReader) {
        reader.read("CHECKIN_DEDUP_SECONDS", &dedupSeconds, in: 0...86_400)
        reader.read("LIVENESS_MIN_TURN_DEGREES", &liveness.minTurnDegrees, in: 5...60)
    }
}
