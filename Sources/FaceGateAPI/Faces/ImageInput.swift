import Foundation
import Hummingbird
import MultipartKit
import NIOCore

/// The photos of a request, accepted three ways: a raw body (`Content-Type: image/jpeg|image/png|image/webp`),
/// `multipart/form-data` with `image` parts, or JSON `{"image_base64": "…"}`. Sizes are enforced while the body is
/// read, before anything is decoded; the image's real format is then judged from its bytes, not the header.
enum ImageInput {
    static let rawTypes: Set<String> = ["image/jpeg", "image/jpg", "image/png", "image/webp"]

    /// The largest body read for `contentType` with `maxImages` images of at most `maxBytes` each: the image itself
    /// raw, the part headers and boundaries on top for multipart, base64's four bytes per three in JSON; nil for a
    /// type no image endpoint takes.
    static func bodyLimit(contentType: String, maxBytes: Int, maxImages: Int = 1) -> Int? {
        switch mediaType(of: contentType) {
        case let type where rawTypes.contains(type): maxBytes
        case "multipart/form-data": maxBytes * maxImages + 64 * 1024
        case "application/json": (maxBytes / 3 + 1) * 4 + 4096
        default: nil
        }
    }

    static func mediaType(of contentType: String) -> String {
        contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    /// The photos (at most `maxImages`, each at most `maxBytes`).
    static func images(
        from request: Request, context: AppRequestContext, maxBytes: Int, maxImages: Int = 1
    ) async throws -> [[UInt8]] {
        try await imagesAndFields(from: request, context: context, maxBytes: maxBytes, maxImages: maxImages).images
    }

    /// The photos, and the text `fields` sent beside them: multipart parts of those names (at most 1 KiB each, UTF-8),
    /// or query parameters with a raw body; a JSON body's fields are the caller's (`payload(ofJSON:)`).
    static func imagesAndFields(
        from request: Request, context: AppRequestContext, maxBytes: Int, maxImages: Int = 1, fields: Set<String> = []
    ) async throws -> (images: [[UInt8]], fields: [String: String]) {
        let contentType = request.headers[.contentType] ?? ""
        let mediaType = mediaType(of: contentType)
        let limit = bodyLimit(contentType: contentType, maxBytes: maxBytes, maxImages: maxImages) ?? 0
        switch mediaType {
        case _ where rawTypes.contains(mediaType):
            let body = try await collect(request, upTo: limit)
            let query = request.uri.queryParameters
            let given = fields.reduce(into: [String: String]()) { found, name in found[name] = query.get(name) }
            return ([Array(body.readableBytesView)], given)
        case "multipart/form-data":
            guard let boundary = boundary(in: contentType) else {
                throw Problem(.invalidMultipart, detail: "the multipart body has no boundary")
            }
            let body = try await collect(request, upTo: limit)
            let named = try await offSharedExecutor {
                try parts(named: fields.union(["image"]), in: body, boundary: boundary, maxParts: max(8, maxImages * 2))
            }
            let images = named["image"] ?? []
            var given: [String: String] = [:]
            for name in fields {
                guard let part = named[name]?.first else { continue }
                guard part.count <= 1024, let text = String(validating: part, as: UTF8.self) else {
                    throw Problem.invalidField(name, "at most 1 KiB of UTF-8 text")
                }
                given[name] = text
            }
            guard !images.isEmpty else { throw missingImage }
            guard images.count <= maxImages else {
                throw Problem(.tooManyImages, detail: "at most \(maxImages) images per request")
            }
            if let large = images.first(where: { $0.count > maxBytes }) {
                throw Problem(
                    .imageTooLarge, detail: "an image of \(large.count) bytes is larger than the limit of \(maxBytes)")
            }
            return (images, given)
        case "application/json":
            let body = try await collect(request, upTo: limit)
            // Parsing and decoding up to 14 MB of text is CPU work that grows with the body: not on the shared executor.
            return ([try await offSharedExecutor { try imageFromJSON(body, maxBytes: maxBytes) }], [:])
        default:
            throw Problem(
                .unsupportedMediaType,
                detail: """
                    send the photo as image/jpeg, image/png or image/webp, as multipart/form-data with an 'image' part, \
                    or as JSON {"image_base64": "…"}
                    """)
        }
    }

    static let missingImage = Problem(.missingImage)

    static func collect(_ request: Request, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge(limit)
        } catch is NIOTooManyBytesError {
            // A body without Content-Length, or one longer than it declared, is cut off here.
            throw tooLarge(limit)
        }
    }

    private static func tooLarge(_ limit: Int) -> Problem {
        Problem(.imageTooLarge, detail: "the request body is larger than \(limit) bytes")
    }

    static func boundary(in contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return value.isEmpty || value.count > 200 ? nil : value
            }
        }
        return nil
    }

    /// The bodies of the parts called `name`; more than `maxParts` parts in all is refused.
    static func parts(named name: String, in body: ByteBuffer, boundary: String, maxParts: Int) throws -> [[UInt8]] {
        try parts(named: [name], in: body, boundary: boundary, maxParts: maxParts)[name] ?? []
    }

    /// The bodies of the parts called one of `names`, by name; more than `maxParts` parts in all is refused.
    static func parts(
        named names: Set<String>, in body: ByteBuffer, boundary: String, maxParts: Int
    ) throws -> [String: [[UInt8]]] {
        let parser = MultipartParser(boundary: boundary)
        var found: [String: [[UInt8]]] = [:]
        var headers: [String: String] = [:]
        var current: [UInt8] = []
        var count = 0
        var tooMany = false
        parser.onHeader = { field, value in headers[field.lowercased()] = value }
        parser.onBody = { buffer in current += buffer.readableBytesView }
        parser.onPartComplete = {
            count += 1
            if count > maxParts { tooMany = true }
            if !tooMany, let name = partName(headers["content-disposition"]), names.contains(name) {
                found[name, default: []].append(current)
            }
            headers = [:]
            current = []
        }
        do {
            try parser.execute(body)
        } catch {
            throw Problem(.invalidMultipart)
        }
        if tooMany { throw Problem(.tooManyParts, detail: "at most \(maxParts) parts per request") }
        return found
    }

    static func partName(_ disposition: String?) -> String? {
        guard let disposition else { return nil }
        for parameter in disposition.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "name" {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    /// A JSON body of a photo endpoint: `image_base64`, and on `POST /checkins` the other ways in (`member_id` and
    /// `reason` for a staff check-in).
    struct JSONPayload: Decodable {
        var image_base64: String?
        var member_id: String?
        var reason: String?
        var member_code: String?
        /// A challenge check-in: the challenge and its frames in capture order.
        var challenge_id: String?
        var images_base64: [String]?
    }

    static func payload(ofJSON body: ByteBuffer) throws -> JSONPayload {
        guard let payload = try? JSONDecoder().decode(JSONPayload.self, from: body) else {
            throw Problem(.invalidJSON, detail: "the body is not JSON with an image_base64 field")
        }
        return payload
    }

    /// The image of a JSON body `{"image_base64": "…"}`: standard or URL-safe base64, with or without padding or a
    /// `data:image/…;base64,` prefix, decoded in one pass (`Base64`).
    static func imageFromJSON(_ body: ByteBuffer, maxBytes: Int) throws -> [UInt8] {
        try image(base64: try payload(ofJSON: body).image_base64, maxBytes: maxBytes)
    }

    static func image(base64: String?, maxBytes: Int) throws -> [UInt8] {
        guard var text = base64?.utf8[...] else { throw missingImage }
        if text.starts(with: "data:".utf8), let comma = text.firstIndex(of: UInt8(ascii: ",")) {
            text = text[text.index(after: comma)...]
        }
        guard let image = Base64.decode(text) else {
            // Nothing but whitespace: an empty image, refused by the decoder as in the other body styles.
            if text.allSatisfy(Base64.isWhitespace) { return [] }
            throw Problem(.invalidBase64)
        }
        guard image.count <= maxBytes else {
            throw Problem(.imageTooLarge, detail: "the image is larger than \(maxBytes) bytes")
        }
        return image
    }

    /// Runs `work` (CPU-bound parsing of a large body) on a queue of its own, not on Swift's shared executor.
    static func offSharedExecutor<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws
        -> Result
    {
        try await withCheckedThrowingContinuation { continuation in
            parsing.async { continuation.resume(with: Swift.Result { try work() }) }
        }
    }

    private static let parsing = DispatchQueue(
        label: "facegate.image-input", qos: .userInitiated, attributes: .concurrent)
}
