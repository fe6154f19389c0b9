import Foundation
import Gallery
import Storage
import Testing

@Suite("Match rule") struct MatchRuleTests {
    let alice = UUID(), bob = UUID()

    func neighbour(_ member: UUID, _ distance: Float) -> FaceNeighbour {
        FaceNeighbour(face: FaceRef(face: UUID(), member: member), distance: distance)
    }

    @Test("several faces of one member count once, at their nearest")
    func membersCountOnce() {
        let ranked = MatchRule.members([neighbour(alice, 0.02), neighbour(alice, 0.03), neighbour(bob, 0.05)])
        #expect(ranked.map(\.member) == [alice, bob])
        #expect(ranked[0].distance == 0.02)
        // Alice's second face does not make Alice ambiguous with herself.
        let twoOfAlice = MatchRule.members([neighbour(alice, 0.02), neighbour(alice, 0.021)])
        #expect(MatchRule(tolerance: 0.08, margin: 0.02).decide(twoOfAlice) == .match(twoOfAlice[0]))
    }

    @Test("tolerance is a maximum cosine distance; beyond it nobody matches")
    func tolerance() {
        let rule = MatchRule(tolerance: 0.08)
        let near = MatchRule.members([neighbour(alice, 0.08)])
        #expect(rule.decide(near) == .match(near[0]))
        let far = MatchRule.members([neighbour(alice, 0.0801)])
        #expect(rule.decide(far) == .noMatch(nearest: far[0]))
        #expect(rule.decide([]) == .noMatch(nearest: nil))
    }

    @Test("two members within the margin of each other are ambiguous; margin 0 picks the nearest")
    func margin() {
        let ranked = MatchRule.members([neighbour(alice, 0.05), neighbour(bob, 0.065)])
        #expect(
            MatchRule(tolerance: 0.08, margin: 0.02).decide(ranked) == .ambiguous(best: ranked[0], runnerUp: ranked[1]))
        #expect(MatchRule(tolerance: 0.08, margin: 0.01).decide(ranked) == .match(ranked[0]))
        #expect(MatchRule(tolerance: 0.08, margin: 0).decide(ranked) == .match(ranked[0]))
    }
}
