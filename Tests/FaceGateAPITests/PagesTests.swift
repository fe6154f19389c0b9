import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import FaceGateAPI

/// The kiosk and admin pages as files: served with their security headers, revalidated by ETag, nothing loaded from
/// elsewhere. Only the pages' routes (and the problem answers) are built here, with no database or models; that
/// `buildRouter` serves them is checked by the OpenAPI route check, and what they do in a browser is tested in a real
/// Chromium by Tests/system/test_pages.py.
@Suite("Kiosk and admin pages")
struct PagesTests {
    func withPages(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        try PagesController().addRoutes(to: router)
        try await Application(router: router).test(.router) { client in try await body(client) }
    }

    @Test("/kiosk and /admin are HTML with a script and style policy of their own origin, the camera for it alone")
    func pagesWithSecurityHeaders() async throws {
        try await withPages { client in
            for page in ["/kiosk", "/admin"] {
                try await client.execute(uri: page, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    let policy = response.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                    #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"))
                    #expect(!policy.contains("unsafe-inline"))
                    #expect(response.headers[HTTPField.Name("Permissions-Policy")!]?.contains("camera=(self)") == true)
                    #expect(response.headers[.cacheControl] == "no-cache")
                    let html = String(buffer: response.body)
                    #expect(html.contains("<script type=\"module\" src=\"/ui/"))
                }
            }
        }
    }

    @Test("every file a page names is served, and none names a script, style or font from another origin")
    func everyFileServedNothingExternal() async throws {
        try await withPages { client in
            var files: Set<String> = ["kiosk.html", "admin.html"]
            var checked: Set<String> = []
            while let file = files.subtracting(checked).first {
                checked.insert(file)
                let text = try await client.execute(uri: "/ui/\(file)", method: .get) { response in
                    #expect(response.status == .ok, "\(file)")
                    return String(buffer: response.body)
                }
                #expect(!text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"), "\(file)")
                // src="/ui/x", href="/ui/x" and import … from './x.js'
                for match in text.matches(of: /(?:\/ui\/|'\.\/)([a-z]+\.(?:js|css|html))/) {
                    files.insert(String(match.1))
                }
            }
            #expect(checked.isSuperset(of: ["kiosk.js", "admin.js", "session.js", "facegate.css"]))
        }
    }

    @Test("a file is answered 304 while the browser's copy is current; an unknown file is a 404 problem")
    func etagsAndUnknownFiles() async throws {
        try await withPages { client in
            let etag = try await client.execute(uri: "/ui/kiosk.js", method: .get) { response in
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                return try #require(response.headers[.eTag])
            }
            try await client.execute(uri: "/ui/kiosk.js", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/ui/kiosk.js", method: .get, headers: [.ifNoneMatch: "\"stale\""]) {
                response in
                #expect(response.status == .ok)
            }
            for path in ["/ui/nothing.js", "/ui/..%2FPackage.swift", "/ui/PagesController.swift"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path)")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(path)")
                }
            }
        }
    }
}
