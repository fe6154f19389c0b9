/// `body` applied to every item with at most `width` calls running at once; results in the order of `items`.
/// The eval and bench commands use it to keep an engine pool busy without queueing the whole input.
func concurrentMap<Item: Sendable, Result: Sendable>(
    _ items: [Item], width: Int, _ body: @escaping @Sendable (Item) async throws -> Result
) async throws -> [Result] {
    try await withThrowingTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: items.count)
        var next = 0
        func addNext() {
            guard next < items.count else { return }
            let index = next, item = items[index]
            next += 1
            group.addTask { (index, try await body(item)) }
        }
        for _ in 0..<max(1, width) { addNext() }
        while let (index, result) = try await group.next() {
            results[index] = result
            addNext()
        }
        return results.map { $0! }
    }
}
