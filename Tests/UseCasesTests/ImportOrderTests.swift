import TestSupport
import Testing

@testable import UseCases

@Suite("Import order") struct ImportOrderTests {
    @Test(
        "photos are examined up to the width ahead; steps are stored in the file's order, whatever order photos finish in"
    )
    func example() {
        // member, photo, photo, photo, member, photo
        var order = ImportOrder<String>(isPhoto: [false, true, true, true, false, true], width: 2)
        #expect(order.photosToStart() == [1, 2])
        #expect(order.nextToStore()! == (0, nil))
        #expect(order.photosToStart().isEmpty)
        #expect(order.nextToStore() == nil)
        order.examined(step: 2, "second")
        // The second photo finished first: it waits for the first.
        #expect(order.nextToStore() == nil)
        order.examined(step: 1, "first")
        #expect(order.nextToStore()! == (1, "first"))
        #expect(order.photosToStart() == [3])
        #expect(order.nextToStore()! == (2, "second"))
        #expect(order.photosToStart() == [5])
        order.examined(step: 5, "last")
        #expect(order.nextToStore() == nil)
        order.examined(step: 3, "third")
        #expect(order.nextToStore()! == (3, "third"))
        #expect(order.nextToStore()! == (4, nil))
        #expect(order.nextToStore()! == (5, "last"))
        #expect(order.isDone && order.nextToStore() == nil)
    }

    @Test(
        "any file and any finishing order: every step stored once, in order, each photo with its own examination, never more than the width examined at once"
    )
    func randomised() {
        var random = SplitMix64(seed: 33)
        for _ in 0..<300 {
            let isPhoto = (0..<Int(random.next() % 30)).map { _ in random.next() % 3 != 0 }
            let width = 1 + Int(random.next() % 4)
            var order = ImportOrder<Int>(isPhoto: isPhoto, width: width)
            var running: [Int] = [], storedSteps: [Int] = []
            running += order.photosToStart()
            while !order.isDone {
                #expect(order.examining <= width)
                if let (step, examination) = order.nextToStore() {
                    storedSteps.append(step)
                    #expect(examination == (isPhoto[step] ? step * 10 : nil))
                    running += order.photosToStart()
                } else {
                    // Some photo finishes: any of those under way (there must be one, or the import would wait for ever).
                    guard !running.isEmpty else {
                        Issue.record("waiting for a photo none examines: \(isPhoto), width \(width)")
                        break
                    }
                    let finished = running.remove(at: Int(random.next() % UInt64(running.count)))
                    order.examined(step: finished, finished * 10)
                }
            }
            #expect(storedSteps == Array(isPhoto.indices))
            #expect(running.isEmpty)
        }
    }
}
