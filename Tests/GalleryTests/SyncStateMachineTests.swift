import Foundation
import Testing

@testable import Gallery

@Suite("Gallery sync decisions") struct SyncStateMachineTests {
    let a = UUID(), b = UUID(), c = UUID()

    @Test(
        "an organisation that differs twice in a row is reloaded; once, it is looked at again in 2 s; asked for, at once"
    )
    func differsTwice() {
        var machine = GallerySyncStateMachine(indexed: true)
        #expect(machine.checkDue(requested: false, loaded: true).action == .compare(reloadAtOnce: false))
        var result = machine.compared(differing: [a, b], reloadAtOnce: false)
        #expect(result.reload.isEmpty && result.checkAgainAfter == .seconds(2))
        // b's write landed meanwhile; a still differs, c differs for the first time.
        result = machine.compared(differing: [a, c], reloadAtOnce: false)
        #expect(result.reload == [a] && machine.suspects == [c] && result.checkAgainAfter == .seconds(2))
        result = machine.compared(differing: [], reloadAtOnce: false)
        #expect(result.reload.isEmpty && machine.suspects.isEmpty && result.checkAgainAfter == nil)
        // Asked for (after a model switch, or by an operator): whatever differs is reloaded now.
        #expect(machine.checkDue(requested: true, loaded: true).action == .compare(reloadAtOnce: true))
        result = machine.compared(differing: [b], reloadAtOnce: true)
        #expect(result.reload == [b] && machine.suspects.isEmpty && result.checkAgainAfter == nil)
    }

    @Test(
        "LISTEN established: load what is not loaded, else compare at once (changes sent meanwhile are lost); look for a switch"
    )
    func listening() {
        var machine = GallerySyncStateMachine(indexed: true)
        var step = machine.listenEstablished(loaded: false)
        #expect(step == .init(action: .loadAll, lookForModelSwitch: true, listeningChanged: true) && machine.listening)
        step = machine.listenLost()
        #expect(step == .init(action: nil, listeningChanged: true) && !machine.listening)
        step = machine.listenEstablished(loaded: true)
        #expect(step.action == .compare(reloadAtOnce: true) && step.lookForModelSwitch && machine.listening)
        // A check before the first load finished loads instead.
        #expect(machine.checkDue(requested: false, loaded: false).action == .loadAll)
        #expect(machine.notification("payload", announcesModelSwitch: false).action == .apply("payload"))
    }

    @Test(
        "a failed step: a loaded gallery waits for the next check; a first load retries in 1 s, or 10 s without its key"
    )
    func failures() {
        let machine = GallerySyncStateMachine(indexed: true)
        #expect(machine.failed(.other, loaded: true) == nil)
        #expect(machine.failed(.unknownTemplateKey, loaded: true) == nil)
        #expect(machine.failed(.other, loaded: false) == .seconds(1))
        #expect(machine.failed(.unknownTemplateKey, loaded: false) == .seconds(10))
    }

    @Test("the first failed look for a model switch is expected (a first start migrating); the second in a row warns")
    func followFailures() {
        var machine = GallerySyncStateMachine(indexed: true)
        let warnings = [true, true, false, true].map { machine.followedModelActivation(failed: $0) }
        #expect(warnings == [false, true, false, false])
    }

    @Test("without an index (pgvector) only LISTEN's state and model switches matter")
    func withoutIndex() {
        var machine = GallerySyncStateMachine(indexed: false)
        let established = machine.listenEstablished(loaded: false)
        #expect(established == .init(action: nil, lookForModelSwitch: true, listeningChanged: true))
        #expect(machine.checkDue(requested: false, loaded: false) == .init(action: nil, lookForModelSwitch: true))
        #expect(machine.notification("added", announcesModelSwitch: false) == .init(action: nil))
        #expect(
            machine.notification("activated", announcesModelSwitch: true)
                == .init(action: nil, lookForModelSwitch: true))
    }
}
