import Foundation
import Storage

/// One face found by a search, with its cosine distance to the query (1 − cosine similarity, pgvector's `<=>`).
public struct FaceNeighbour: Sendable, Equatable {
    public let face: FaceRef
    public let distance: Float
    public var similarity: Float { 1 - distance }

    public init(face: FaceRef, distance: Float) {
        self.face = face
        self.distance = distance
    }
}

/// A member found by a search: the nearest of its faces.
public struct MemberCandidate: Sendable, Equatable {
    public let member: UUID
    public let face: UUID
    public let distance: Float
    public var similarity: Float { 1 - distance }
}

/// When a search result counts as the member: the one rule every endpoint and the evaluation use.
///
/// - `tolerance`: the largest cosine distance accepted (derived for the gallery's size by the service's
///   `MatchPolicy`, or `FACE_MATCH_TOLERANCE`).
/// - `margin`: the nearest *other* member must be at least this much farther than the best (`FACE_MATCH_MARGIN`);
///   otherwise the result is ambiguous and nobody is matched. 0 turns the rule off.
public struct MatchRule: Sendable, Equatable {
    public var tolerance: Float
    public var margin: Float

    public init(tolerance: Float, margin: Float = 0) {
        self.tolerance = tolerance
        self.margin = margin
    }

    public enum Decision: Sendable, Equatable {
        case match(MemberCandidate)
        /// Nobody within the tolerance; carries the nearest member, if any.
        case noMatch(nearest: MemberCandidate?)
        /// Within the tolerance, but another member is within the margin of the best.
        case ambiguous(best: MemberCandidate, runnerUp: MemberCandidate)
    }

    /// Whether a best distance and the distance to the nearest other member (∞ when there is none) make a match.
    public func accepts(distance: Float, runnerUp: Float) -> Bool {
        distance <= tolerance && runnerUp - distance >= margin
    }

    /// Judges candidates ranked nearest first (one per member, as `FaceGallery.nearestMembers` returns them).
    public func decide(_ ranked: [MemberCandidate]) -> Decision {
        guard let best = ranked.first, best.distance <= tolerance else { return .noMatch(nearest: ranked.first) }
        if let runnerUp = ranked.dropFirst().first, !accepts(distance: best.distance, runnerUp: runnerUp.distance) {
            return .ambiguous(best: best, runnerUp: runnerUp)
        }
        return .match(best)
    }

    /// Neighbouring faces (nearest first) reduced to one candidate per member, nearest first: several faces of one
    /// member count once.
    public static func members(_ neighbours: [FaceNeighbour]) -> [MemberCandidate] {
        var seen = Set<UUID>()
        return neighbours.compactMap { neighbour in
            guard seen.insert(neighbour.face.member).inserted else { return nil }
            return MemberCandidate(
                member: neighbour.face.member, face: neighbour.face.face, distance: neighbour.distance)
        }
    }
}
