import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /kiosk`, `GET /admin` and their scripts and style under `GET /ui/{file}`: the two pages people use, served
/// from the files in `Pages/Assets` (bundled with the executable, read once at start), with no script, style or font
/// from anywhere else. Responses carry an ETag and are revalidated on every load, so an upgrade reaches every kiosk
/// on its next reload.
struct PagesController {
    /// A bundled file, ready to send.
    struct Asset: Sendable {
        let bytes: ByteBuffer
        let contentType: String
        let etag: String
    }

    let assets: [String: Asset]

    /// The pages answered at the root, and the file each one is.
    static let pages = ["kiosk": "kiosk.html", "admin": "admin.html"]

    /// Camera and script rules for the pages: only this origin, the camera for this origin only, never in a frame.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
            + "media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'none'; base-uri 'none'; "
            + "frame-ancestors 'none'",
        HTTPField.Name("Permissions-Policy")!: "camera=(self), microphone=(), geolocation=()",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-cache",
    ]

    /// Reads every file of `folder` (the bundled `Assets` unless given).
    init(folder: URL? = nil) throws {
        guard let folder = folder ?? Bundle.module.url(forResource: "Assets", withExtension: nil) else {
            throw PagesMissing(path: "Assets in the FaceGateAPI resource bundle")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        var assets: [String: Asset] = [:]
        for name in names {
            guard let type = Self.contentTypes[(name as NSString).pathExtension] else { continue }
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            let digest = SHA256.hash(data: data).prefix(12).map { String(format: "%02x", $0) }.joined()
            assets[name] = Asset(bytes: ByteBuffer(bytes: data), contentType: type, etag: "\"\(digest)\"")
        }
        for file in Self.pages.values where assets[file] == nil {
            throw PagesMissing(path: folder.appendingPathComponent(file).path)
        }
        self.assets = assets
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
    ]

    func addRoutes(to router: Router<AppRequestContext>) {
        for (path, file) in Self.pages {
            router.get(RouterPath(path)) { request, _ in try self.respond(file, to: request) }
        }
        router.get("ui/{file}") { request, context in
            try self.respond(try context.parameters.require("file"), to: request)
        }
    }

    func respond(_ name: String, to request: Request) throws -> Response {
        guard let asset = assets[name] else {
            throw Problem(.notFound, detail: "there is no such page or file")
        }
        var headers = Self.securityHeaders
        headers[.eTag] = asset.etag
        if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) == asset.etag
        }) == true {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.bytes))
    }
}

/// The page files are not where the executable expects them (the `facegate_FaceGateAPI.resources` folder next to
/// the executable, as `swift build` leaves it).
struct PagesMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "the kiosk and admin pages are missing: \(path) not found" }
}
