import Foundation
import Gallery
import ImageDecoding
import Storage
import TestSupport
import Testing
import UseCases

@testable import FaceEngine
@testable import FaceGateAPI

@Suite("Error catalogue") struct ErrorCatalogueTests {
    @Test("codes are unique snake_case names; a transient code says when to try again; every kind has its status")
    func catalogue() {
        let names = (ErrorCode.all + ErrorCode.importReport).map(\.name)
        #expect(Set(names).count == names.count)
        for code in ErrorCode.all + ErrorCode.importReport {
            #expect(code.name.range(of: "^[a-z]+(_[a-z0-9]+)*$", options: .regularExpression) != nil, "\(code)")
            #expect(!code.text.isEmpty)
            #expect(
                (code.kind == .transient) == (code.retryAfter != nil && code.kind.status == .serviceUnavailable)
                    || code == .idempotencyInProgress, "\(code)")
            #expect(ErrorCode.named(code.name) == code)
        }
        #expect(Set(ErrorKind.allCases.map(\.status.code)).count == ErrorKind.allCases.count)
        #expect(ErrorKind.allCases.allSatisfy { $0.status.code >= 400 })
        // An answer takes its status from the kind, and a transient one carries Retry-After.
        let busy = Problem(.overloaded)
        #expect(
            busy.status == .serviceUnavailable && busy.headers[.retryAfter] == "1"
                && busy.detail == ErrorCode.overloaded.text)
    }

    @Test("every domain error maps to a code of the catalogue with its own words; anything else is internal_error")
    func domainErrors() {
        let errors: [any Error] = [
            UseCaseError.noFace, UseCaseError.noMatch,
            UseCaseError.faceBelongsToOtherMember(distance: 0.1, tolerance: 0.3),
            UseCaseError.noFacesEnrolled, UseCaseError.notFound("member"),
            UseCaseError.invalidField("email", "an email"),
            UseCaseError.challengeInvalid, UseCaseError.livenessUnavailable,
            ImageDecodingError.empty, ImageDecodingError.unsupportedFormat("GIF"), ImageDecodingError.corrupt("x"),
            ImageDecodingError.truncated, ImageDecodingError.tooManyBytes(limit: 10),
            ImageDecodingError.tooManyPixels(width: 1, height: 1, limit: 0),
            EnrolmentRejection.noFace, EnrolmentRejection.multipleFaces(count: 2),
            EnrolmentRejection.faceTooSmall(size: 1, minimum: 2),
            EnrolmentRejection.poseTooFar(yaw: 40, roll: 0, maxYaw: 30, maxRoll: 30),
            EnrolmentRejection.tooBlurry(sharpness: 1, minimum: 2),
            StorageError.memberNotFound, StorageError.duplicateFace, StorageError.duplicateExternalID,
            StorageError.duplicateEmail,
            StorageError.duplicateUsername, StorageError.duplicateAccountEmail, StorageError.duplicateOrganization,
            StorageError.organizationNotFound, StorageError.timedOut("a query"), StorageError.connectionLost,
            StorageError.modelNotActive, StorageError.unknownTemplateKey("k1"), StorageError.noRowReturned,
            FaceEngineError.overloaded(queueLimit: 3), FaceEngineError.engineFailure("x"), GalleryError.notReady,
        ]
        for error in errors {
            let coded = CodedError(describing: error)
            #expect(ErrorCode.all.contains(coded.code), "\(error) → \(coded.code)")
        }
        #expect(CodedError(describing: UseCaseError.notFound("member")).detail == "no such member")
        #expect(CodedError(describing: ImageDecodingError.unsupportedFormat("GIF")).code == .unsupportedImageFormat)
        #expect(
            CodedError(describing: EnrolmentRejection.poseTooFar(yaw: 40, roll: 0, maxYaw: 30, maxRoll: 30)).code
                == .badPose)
        // The database's and the keys' own words stay in the log.
        #expect(CodedError(describing: StorageError.timedOut("SELECT …")) == CodedError(.databaseUnavailable))
        #expect(
            CodedError(describing: StorageError.unknownTemplateKey("k1")).detail == ErrorCode.templateKeyUnknown.text)
        struct Unknown: Error {}
        #expect(CodedError(describing: Unknown()) == CodedError(.internalError))
        #expect(Problem(FaceEngineError.engineFailure("segfault in the model")) == .internalError)
    }

    @Test("the OpenAPI document names only the catalogue's codes, and its Problem schema lists them all")
    func openAPI() throws {
        let document = OpenAPIDocument.document
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let problem = try #require((schemas["Problem"] as? [String: Any])?["properties"] as? [String: Any])
        #expect((problem["code"] as? [String: Any])?["enum"] as? [String] == ErrorCode.all.map(\.name))
        var named = Set<String>()
        for operations in OpenAPIDocument.paths.values {
            for case let operation as [String: Any] in operations.values {
                for case let answer as [String: Any] in (operation["responses"] as? [String: Any] ?? [:]).values {
                    guard let description = answer["description"] as? String, description.hasPrefix("problem: ") else {
                        continue
                    }
                    let list = description.dropFirst("problem: ".count).split(separator: "(")[0]
                    named.formUnion(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                }
            }
        }
        #expect(named.count > 30)
        #expect(named.subtracting(ErrorCode.all.map(\.name)).isEmpty, "\(named.subtracting(ErrorCode.all.map(\.name)))")
    }

    @Test("every code the kiosk and admin pages have words for is one the service answers (or the pages' own)")
    func pages() throws {
        let assets = TestEnvironment.repositoryRoot + "/Sources/FaceGateAPI/Pages/Assets/"
        // Made up by the pages themselves (no answer at all, a signed-out session), or an outcome that is no problem.
        let own: Set<String> = ["network_error", "timeout", "signed_out", "needs_confirmation", "checked_in", "repeat"]
        var used = Set<String>()
        func matches(_ pattern: String, in text: some StringProtocol) throws -> [String] {
            let text = String(text)
            return try NSRegularExpression(pattern: pattern).matches(
                in: text, range: NSRange(text.startIndex..., in: text)
            )
            .map { String(text[Range($0.range(at: 1), in: text)!]) }
        }
        for file in ["session.js", "kiosk.js", "admin.js"] {
            let text = try String(contentsOfFile: assets + file, encoding: .utf8)
            used.formUnion(try matches(#"case '([a-z_]+)'"#, in: text) + matches(#"code === '([a-z_]+)'"#, in: text))
            // The maps of codes to words: session.js's photoReasons, admin.js's attempt OUTCOMES.
            for map in ["photoReasons = {", "OUTCOMES = {"] {
                guard let start = text.range(of: map) else { continue }
                let block = text[start.upperBound...].prefix { $0 != "}" }
                used.formUnion(try matches(#"([a-z]+(?:_[a-z]+)*): '"#, in: block))
            }
        }
        #expect(used.contains("no_face") && used.contains("membership_inactive") && used.contains("model_switching"))
        let unknown = used.subtracting(own).subtracting(ErrorCode.all.map(\.name))
        #expect(unknown.isEmpty, "the pages name codes the service never answers: \(unknown.sorted())")
    }
}
