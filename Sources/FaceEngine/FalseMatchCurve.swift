import Foundation

/// How often two different people come out within a cosine distance of each other, for one face model: the
/// per-comparison false-match rate FAR(d), measured on impostor pairs of a calibration set (`facegate eval
/// impostors`) and kept with the model's descriptor. From it the service derives the tolerance that holds an
/// operator's target false-positive identification rate as the gallery grows: a stranger is compared with every
/// enrolled face, so with N faces FPIR ≈ 1 − (1 − FAR(t))^N.
public struct FalseMatchCurve: Sendable, Equatable {
    /// (distance, FAR) knots, distance increasing, FAR increasing; FAR is interpolated log-linearly between them.
    public let knots: [(distance: Float, far: Double)]

    public init(knots: [(distance: Float, far: Double)]) {
        precondition(knots.count >= 2, "a curve needs two knots")
        precondition(
            zip(knots, knots.dropFirst()).allSatisfy { $0.distance < $1.distance && $0.far <= $1.far && $0.far > 0 },
            "knots must rise in distance and FAR")
        self.knots = knots
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.knots.count == b.knots.count
            && zip(a.knots, b.knots).allSatisfy { $0.distance == $1.distance && $0.far == $1.far }
    }

    /// The per-comparison false-match rate at tolerance `distance`: below the first knot the first segment's
    /// log-linear slope goes on; above the last knot the last knot's rate.
    public func falseMatchRate(at distance: Float) -> Double {
        guard distance > knots[0].distance else {
            let a = knots[0], b = knots[1]
            let slope = (log10(b.far) - log10(a.far)) / Double(b.distance - a.distance)
            return pow(10, log10(a.far) - slope * Double(a.distance - distance))
        }
        guard distance < knots[knots.count - 1].distance else { return knots[knots.count - 1].far }
        let upper = knots.firstIndex { $0.distance >= distance }!
        let a = knots[upper - 1], b = knots[upper]
        let fraction = Double((distance - a.distance) / (b.distance - a.distance))
        return pow(10, log10(a.far) + fraction * (log10(b.far) - log10(a.far)))
    }

    /// The largest tolerance whose per-comparison false-match rate is at most `far`. Below the first knot (galleries
    /// of hundreds of millions of faces) the first segment's slope goes on, towards stricter, never looser, tolerances.
    public func tolerance(forFalseMatchRate far: Double) -> Float {
        guard far > knots[0].far else {
            let a = knots[0], b = knots[1]
            let slope = (log10(b.far) - log10(a.far)) / Double(b.distance - a.distance)
            return a.distance - Float((log10(a.far) - log10(max(far, 1e-300))) / slope)
        }
        guard far < knots[knots.count - 1].far else { return knots[knots.count - 1].distance }
        let upper = knots.firstIndex { $0.far >= far }!
        let a = knots[upper - 1], b = knots[upper]
        guard b.far > a.far else { return a.distance }
        let fraction = (log10(far) - log10(a.far)) / (log10(b.far) - log10(a.far))
        return a.distance + Float(fraction) * (b.distance - a.distance)
    }

    /// The per-comparison FAR that keeps the chance of a stranger matching any of `comparisons` faces at `fpir`,
    /// comparisons taken as independent: 1 − (1 − fpir)^(1/N).
    public static func falseMatchRate(forFPIR fpir: Double, comparisons: Int) -> Double {
        let n = Double(max(1, comparisons))
        return -expm1(log1p(-fpir) / n)
    }

    /// The tolerance for a target FPIR against a gallery of `comparisons` faces.
    public func tolerance(forFPIR fpir: Double, comparisons: Int) -> Float {
        tolerance(forFalseMatchRate: Self.falseMatchRate(forFPIR: fpir, comparisons: comparisons))
    }
}
