import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Storage

/// `Idempotency-Key` on the writes a client may have to retry without knowing whether the first try arrived:
/// creating a member, enrolling faces and checking in. The first request with a key (per account) runs and its
/// answer is kept for at least a day; the same request again gets that answer (`Idempotent-Replayed: true`) instead
/// of doing the work again; the key with a different request is 422 `idempotency_key_reused`, and while the first
/// still runs 409 `idempotency_in_progress`. A 5xx answer is not kept: the request may simply be sent again.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: IdempotencyStore
    /// `MAX_IMAGE_BYTES`: the body is collected here to hash it, within the limit the route itself applies.
    let maxImageBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.method == .post, let key = request.headers[.idempotencyKey], Self.covers(request.uri.path),
            let account = context.identity
        else { return try await next(request, context) }
        guard (1...200).contains(key.count) else {
            throw Problem(.invalidIdempotencyKey)
        }
        var request = request
        let body = try await ImageInput.collect(
            request, upTo: Self.bodyLimit(of: request, maxImageBytes: maxImageBytes))
        request.body = .init(buffer: body)
        let mediaType = ImageInput.mediaType(of: request.headers[.contentType] ?? "")
        var hasher = SHA256()
        // The query is part of the request (`POST /checkins?member_code=…`).
        hasher.update(data: Array("\(request.uri.path)?\(request.uri.query ?? "")\n\(mediaType)\n".utf8))
        hasher.update(data: Self.canonical(body, mediaType: mediaType))
        switch try await store.claim(user: account.id, key: key, requestHash: Array(hasher.finalize())) {
        case .mismatch:
            throw Problem(.idempotencyKeyReused)
        case .inProgress:
            throw Problem(.idempotencyInProgress)
        case .answered(let answer):
            var headers: HTTPFields = [.idempotentReplayed: "true"]
            if let type = answer.contentType { headers[.contentType] = type }
            return Response(
                status: .init(code: answer.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        case .claimed:
            let response: Response
            do {
                response = try await next(request, context)
            } catch let error {
                let problem = Problem(error)
                if problem.status.code >= 500 || error is CancellationError {
                    try? await store.release(user: account.id, key: key)
                    throw error
                }
                return try await keep(
                    try problem.response(from: request, context: context), user: account.id, key: key,
                    context: context)
            }
            return try await keep(response, user: account.id, key: key, context: context)
        }
    }

    /// Stores `response` as the key's answer (its body collected: a small JSON answer) and returns it, or releases
    /// the key for a 5xx.
    private func keep(_ response: Response, user: UUID, key: String, context: Context) async throws -> Response {
        guard response.status.code < 500 else {
            try await store.release(user: user, key: key)
            return response
        }
        let collected = CollectedBytes()
        var kept = response
        try await response.body.write(BodyCollector(into: collected))
        kept.body = .init(byteBuffer: ByteBuffer(bytes: collected.bytes))
        do {
            try await store.complete(
                user: user, key: key,
                answer: .init(
                    status: response.status.code, contentType: response.headers[.contentType], body: collected.bytes))
        } catch {
            // The work is done: its answer goes out. A retry meets the claim until it is abandoned (5 minutes).
            context.logger.error(
                "idempotency: the answer could not be kept",
                metadata: [
                    "error": "\(loggedDescription(of: error))"
                ])
        }
        return kept
    }

    /// The bytes that say what a request asks for: JSON with its keys sorted (a client may serialise the same object
    /// in another order when it retries), any other body as it is.
    static func canonical(_ body: ByteBuffer, mediaType: String) -> [UInt8] {
        let bytes = Array(buffer: body)
        guard mediaType == "application/json",
            let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
            let sorted = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
        else { return bytes }
        return [UInt8](sorted)
    }

    /// What the route reads of a body: an image body's limit, or 64 KiB of JSON for a new member.
    static func bodyLimit(of request: Request, maxImageBytes: Int) -> Int {
        let path = request.uri.path.split(separator: "/")
        if path == ["api", "v1", "members"] { return 64 * 1024 }
        let images = path.last == "faces" ? FacesController.maxImagesPerRequest : 1
        return ImageInput.bodyLimit(
            contentType: request.headers[.contentType] ?? "", maxBytes: maxImageBytes,
            maxImages: images) ?? 64 * 1024
    }

    static func covers(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        // /api/v1/members, /api/v1/members/{id}/faces, /api/v1/checkins
        return parts == ["api", "v1", "members"] || parts == ["api", "v1", "checkins"]
            || (parts.count == 5 && parts[0...2] == ["api", "v1", "members"] && parts[4] == "faces")
    }
}

/// Gathers a response body's bytes into `CollectedBytes`.
private struct BodyCollector: ResponseBodyWriter {
    let into: CollectedBytes
    mutating func write(_ buffer: ByteBuffer) async throws { into.bytes += Array(buffer: buffer) }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

private final class CollectedBytes: @unchecked Sendable {
    var bytes: [UInt8] = []  // written by one writer, read after it finished
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
