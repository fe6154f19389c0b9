import FaceEngine
import Gallery
import Storage

/// How the service decides the tolerance of a search: an operator's target false-positive identification rate
/// (`FACE_MATCH_TARGET_FPIR`, the default) from which the tolerance is derived for the gallery being searched, or
/// a fixed tolerance (`FACE_MATCH_TOLERANCE`). A stranger is compared with every enrolled face of the organisation,
/// so at a fixed tolerance the chance that one of them lies within it grows with the gallery; the derived tolerance
/// narrows as the gallery grows so that this chance stays at the target (the model's `FalseMatchCurve`).
public struct MatchPolicy: Sendable, Equatable {
    public enum Tolerance: Sendable, Equatable {
        /// The same cosine distance whatever the gallery's size.
        case fixed(Float)
        /// Derived from the model's false-match curve for the target FPIR and the gallery's number of faces.
        case targetFPIR(Double, FalseMatchCurve)
    }

    public var tolerance: Tolerance
    /// `FACE_MATCH_MARGIN`, see `MatchRule`.
    public var margin: Float
    /// The 1:1 rule (`FACE_CONFIRM_TARGET_FAR`): the false-match rate allowed per comparison when the face is
    /// compared with one member only — a member number typed at the kiosk, or the PIN band's candidates, whom a PIN
    /// then confirms — and the model's curve it is read from; nil: no 1:1 check-ins and no PIN band.
    public var confirmation: Confirmation?

    public struct Confirmation: Sendable, Equatable {
        public var falseMatchRate: Double
        public var curve: FalseMatchCurve

        public init(falseMatchRate: Double, curve: FalseMatchCurve) {
            self.falseMatchRate = falseMatchRate
            self.curve = curve
        }

        /// The tolerance for comparing a face with `faces` faces of one member at the target rate for all of them.
        public func tolerance(faces: Int = 1) -> Float {
            curve.tolerance(forFPIR: falseMatchRate, comparisons: faces)
        }
    }

    public init(tolerance: Tolerance, margin: Float = 0, confirmation: Confirmation? = nil) {
        self.tolerance = tolerance
        self.margin = margin
        self.confirmation = confirmation
    }

    /// The rule for a search among `galleryFaces` faces (a 1:1 verification compares with one).
    public func rule(galleryFaces: Int) -> MatchRule {
        MatchRule(tolerance: tolerance(galleryFaces: galleryFaces), margin: margin)
    }

    public func tolerance(galleryFaces: Int) -> Float {
        switch tolerance {
        case .fixed(let value): value
        case .targetFPIR(let fpir, let curve): curve.tolerance(forFPIR: fpir, comparisons: galleryFaces)
        }
    }

    /// The FPIR target, when the tolerance is derived from one.
    public var targetFPIR: Double? {
        if case .targetFPIR(let fpir, _) = tolerance { return fpir }
        return nil
    }
}

extension MatchPolicy {
    /// This policy with another ambiguity margin.
    public func with(margin: Float) -> MatchPolicy {
        MatchPolicy(tolerance: tolerance, margin: margin, confirmation: confirmation)
    }

    /// This policy deriving its tolerance for another target.
    public func with(targetFPIR: Double, curve: FalseMatchCurve) -> MatchPolicy {
        MatchPolicy(tolerance: .targetFPIR(targetFPIR, curve), margin: margin, confirmation: confirmation)
    }
}
