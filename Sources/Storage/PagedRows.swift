/// Rows of an export read a page at a time, each page its own short query that continues after the last row of the
/// one before (keyset paging): any number of rows in constant memory, and a reader as slow as it likes (a client
/// downloading at its pace) holds no database connection or snapshot between pages. The first page is read when the
/// sequence is made, so that a database outage is answered before anything is sent.
public struct PagedRows<Element: Sendable>: AsyncSequence, Sendable {
    /// The rows after `after` (nil: from the first), at most `pageSize`, in order.
    let page: @Sendable (_ after: Element?) async throws -> [Element]
    let pageSize: Int
    let first: [Element]

    init(pageSize: Int, page: @escaping @Sendable (_ after: Element?) async throws -> [Element]) async throws {
        self.page = page
        self.pageSize = pageSize
        first = try await page(nil)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let rows: PagedRows
        var buffer: [Element]
        var index = 0

        public mutating func next() async throws -> Element? {
            if index == buffer.count {
                // A short page was the last one.
                guard buffer.count == rows.pageSize, let last = buffer.last else { return nil }
                buffer = try await rows.page(last)
                index = 0
                guard !buffer.isEmpty else { return nil }
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rows: self, buffer: first) }
}
