import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// `MAX_INFLIGHT_IMAGE_BYTES`: how many bytes of photo bodies all requests together may hold at once, and the share
/// one account (a quarter) and one organisation (a half) may hold of it, so that no one client can take all of it
/// from the others. A photo request reserves the bytes that have **arrived**, chunk by chunk as its body is read (not
/// what it declares), and gives them back when answered; a chunk that does not fit is refused with 503 `overloaded`
/// and `Retry-After`. The whole body must arrive within `REQUEST_BODY_TIMEOUT_SECONDS` (408 `body_timeout`
/// otherwise), so a body trickled in byte by byte cannot hold its connection or its bytes for long. A request that is
/// alone in its account, organisation or the service always fits its own limit.
struct ImageBytesBudgetMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let budget: ImageBytesBudget
    let maxImageBytes: Int
    let bodyTimeout: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.method == .post, let images = Self.images(path: request.uri.path), let account = context.identity,
            let limit = ImageInput.bodyLimit(
                contentType: request.headers[.contentType] ?? "", maxBytes: maxImageBytes,
                maxImages: images)
        else { return try await next(request, context) }
        let reservation = ImageBytesBudget.Reservation(
            budget: budget, account: account.id, organization: account.organizationID)
        defer { reservation.releaseAll() }
        var request = request
        request.body = .init(
            buffer: try await BodyDeadline.collect(
                request.body, upTo: limit, within: bodyTimeout,
                tooLarge: Problem(.imageTooLarge, detail: "the request body is larger than \(limit) bytes")
            ) { bytes in
                guard reservation.take(bytes) else {
                    throw Problem(.overloaded, detail: "too many photos are being received at once; try again shortly")
                }
            })
        return try await next(request, context)
    }

    /// How many photos a POST to `path` may carry, or nil when it takes none.
    static func images(path: String) -> Int? {
        let parts = path.split(separator: "/")
        guard parts.count >= 3, parts[0...1] == ["api", "v1"], let last = parts.last else { return nil }
        switch last {
        case "checkins", "identify", "detect", "verify": return 1
        case "faces": return FacesController.maxImagesPerRequest
        default: return nil
        }
    }
}

/// Bytes reserved against a capacity (nil: unbounded), in all and per account and organisation.
final class ImageBytesBudget: Sendable {
    let capacity: Int?
    /// What one account, and one organisation, may hold at once.
    let accountShare: Int?
    let organizationShare: Int?
    private let used = Mutex(Usage())

    struct Usage {
        var total = 0
        var accounts: [UUID: Int] = [:]
        var organizations: [UUID: Int] = [:]
    }

    init(capacity: Int?) {
        self.capacity = capacity
        accountShare = capacity.map { $0 / 4 }
        organizationShare = capacity.map { $0 / 2 }
    }

    var inUse: Int { used.withLock { $0.total } }

    /// Reserves `bytes` more for a request that holds `mine` already, unless that takes the service, the account or
    /// the organisation past its bound while another request holds some of it too.
    func reserve(_ bytes: Int, holding mine: Int, account: UUID, organization: UUID) -> Bool {
        used.withLock { usage in
            func fits(_ used: Int, _ bound: Int?) -> Bool {
                guard let bound else { return true }
                return used + bytes <= bound || used == mine  // a request alone always fits
            }
            guard fits(usage.total, capacity), fits(usage.accounts[account, default: 0], accountShare),
                fits(usage.organizations[organization, default: 0], organizationShare)
            else { return false }
            usage.total += bytes
            usage.accounts[account, default: 0] += bytes
            usage.organizations[organization, default: 0] += bytes
            return true
        }
    }

    func release(_ bytes: Int, account: UUID, organization: UUID) {
        used.withLock { usage in
            usage.total -= bytes
            usage.accounts[account, default: 0] -= bytes
            if usage.accounts[account] == 0 { usage.accounts[account] = nil }
            usage.organizations[organization, default: 0] -= bytes
            if usage.organizations[organization] == 0 { usage.organizations[organization] = nil }
        }
    }

    /// One request's bytes: taken chunk by chunk, all given back once.
    final class Reservation: Sendable {
        let budget: ImageBytesBudget
        let account: UUID
        let organization: UUID
        private let held = Mutex(0)

        init(budget: ImageBytesBudget, account: UUID, organization: UUID) {
            self.budget = budget
            self.account = account
            self.organization = organization
        }

        func take(_ bytes: Int) -> Bool {
            held.withLock { held in
                guard budget.reserve(bytes, holding: held, account: account, organization: organization) else {
                    return false
                }
                held += bytes
                return true
            }
        }

        func releaseAll() {
            let bytes = held.withLock { held in
                defer { held = 0 }
                return held
            }
            if bytes > 0 { budget.release(bytes, account: account, organization: organization) }
        }
    }
}

/// `REQUEST_BODY_TIMEOUT_SECONDS`: a request's whole body must arrive within this (408 `body_timeout` otherwise).
/// The connection's idle timer restarts on every chunk, so without it a body trickled in slowly would hold its
/// connection, and what it reserved, for ever.
enum BodyDeadline {
    static func timedOut(_ timeout: Duration) -> Problem {
        Problem(.bodyTimeout, detail: "the request body did not arrive within \(timeout.components.seconds) s")
    }

    /// The whole body, at most `limit` bytes (`tooLarge` past it), each chunk offered to `admit` as it arrives.
    static func collect(
        _ body: RequestBody, upTo limit: Int, within timeout: Duration, tooLarge: Problem,
        admit: @escaping @Sendable (Int) throws -> Void = { _ in }
    ) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var collected = ByteBuffer()
                for try await chunk in body {
                    guard collected.readableBytes + chunk.readableBytes <= limit else { throw tooLarge }
                    try admit(chunk.readableBytes)
                    var chunk = chunk
                    collected.writeBuffer(&chunk)
                }
                return collected
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else { throw timedOut(timeout) }
            return body
        }
    }
}

/// The body deadline for every other request with a body (JSON, a login's): read whole within
/// `REQUEST_BODY_TIMEOUT_SECONDS`, at most `maxBytes` (413 `body_too_large`); photo routes are read by
/// `ImageBytesBudgetMiddleware` once the account is known (and not at all without one).
struct BodyDeadlineMiddleware<Context: RequestContext>: RouterMiddleware {
    let timeout: Duration
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard [.post, .put, .patch].contains(request.method),
            ImageBytesBudgetMiddleware.images(path: request.uri.path) == nil
        else { return try await next(request, context) }
        var request = request
        request.body = .init(
            buffer: try await BodyDeadline.collect(
                request.body, upTo: maxBytes, within: timeout,
                tooLarge: Problem(.bodyTooLarge)))
        return try await next(request, context)
    }
}
