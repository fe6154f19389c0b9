import Foundation
import Testing

@testable import FaceGateAPI

/// The photo bytes in flight: the service's budget, shared so that no account (a quarter) or organisation (a half)
/// takes all of it, a request alone always fitting its own limit.
@Suite("Photo bytes in flight") struct ImageBytesBudgetTests {
    @Test(
        "an account and an organisation hold at most their share while others hold some; a request alone fits; all comes back"
    )
    func shares() {
        let budget = ImageBytesBudget(capacity: 100)
        let (gymA, gymB) = (UUID(), UUID())
        let (operatorA, otherA, kioskA, kioskB) = (UUID(), UUID(), UUID(), UUID())
        func request(_ account: UUID, _ organization: UUID) -> ImageBytesBudget.Reservation {
            .init(budget: budget, account: account, organization: organization)
        }
        // A request alone goes past the account's 25: it is the account's only one.
        let first = request(operatorA, gymA)
        #expect(first.take(20) && first.take(10))
        // A second request of the same account, then of another account of the organisation, up to its 50.
        let second = request(operatorA, gymA)
        #expect(!second.take(1))
        let third = request(otherA, gymA)
        #expect(third.take(20) && !third.take(1))
        #expect(!request(kioskA, gymA).take(1))
        // Another organisation is not held back by the first one's uploads.
        let fourth = request(kioskB, gymB)
        #expect(fourth.take(25) && budget.inUse == 75)
        for reservation in [first, second, third, fourth] { reservation.releaseAll() }
        #expect(budget.inUse == 0 && request(kioskA, gymA).take(25))
    }
}
