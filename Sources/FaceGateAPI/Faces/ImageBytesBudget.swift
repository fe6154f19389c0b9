import HTTPTypes
import Hummingbird
import Synchronization

/// `MAX_INFLIGHT_IMAGE_BYTES`: how many bytes of photo bodies all requests together may hold at once. A photo request
/// reserves its declared `Content-Length` (or its route's limit when it declares none) before its body is read, and
/// gives it back when answered; one that does not fit is refused at once with 503 `overloaded` and `Retry-After`,
/// before a byte of it is buffered, so that many large uploads at once cannot exhaust memory.
struct ImageBytesBudgetMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let budget: ImageBytesBudget
    let maxImageBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let images = Self.images(path: request.uri.path),
              let limit = ImageInput.bodyLimit(contentType: request.headers[.contentType] ?? "", maxBytes: maxImageBytes,
                                               maxImages: images)
        else { return try await next(request, context) }
        let declared = request.headers[.contentLength].flatMap(Int.init) ?? limit
        let bytes = min(max(declared, 0), limit)
        guard budget.reserve(bytes) else {
            throw Problem.unavailable(code: "overloaded",
                                      detail: "too many photos are being received at once; try again shortly", retryAfter: 1)
        }
        defer { budget.release(bytes) }
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

/// A count of bytes reserved against a capacity (nil: unbounded).
final class ImageBytesBudget: Sendable {
    let capacity: Int?
    private let used = Mutex(0)

    init(capacity: Int?) { self.capacity = capacity }

    var inUse: Int { used.withLock { $0 } }

    func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            if let capacity, used + bytes > capacity, used > 0 { return false }  // one request alone always fits
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) { used.withLock { $0 -= bytes } }
}
