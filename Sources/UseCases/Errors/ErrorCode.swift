/// What kind of failure a code is. The HTTP API turns each kind into its status (`Problem`); the command line and the
/// import report read the kind directly (refused or not, worth retrying or not).
public enum ErrorKind: String, Sendable, CaseIterable {
    /// The request or a value in it is malformed or breaks a rule (400).
    case invalid
    /// No or a bad credential (401).
    case unauthenticated
    /// Understood, and refused: this account may not, or the rules say no (403).
    case refused
    /// No such thing in the caller's organisation (404).
    case notFound
    /// The method is not one the path takes (405).
    case methodNotAllowed
    /// The request did not arrive in time (408).
    case timedOut
    /// It clashes with what is stored or under way (409).
    case conflict
    /// It was there and was erased (410).
    case gone
    /// Too many bytes or pixels (413).
    case tooLarge
    /// Not a kind of body or image the service reads (415).
    case unsupportedMedia
    /// Well formed, but the photo or frames cannot do what was asked (422).
    case unprocessable
    /// Too many requests of this kind; try again later (429).
    case rateLimited
    /// Passes by itself: overload, a database outage, a gallery or model loading (503, with Retry-After).
    case transient
    /// The service failed; it is logged with the request id (500).
    case `internal`

    /// Whether what was sent is refused (the caller's to change), rather than the service failing or busy.
    public var isRefusal: Bool { self != .internal && self != .transient }
}

/// One stable, machine-readable error code: its name (what clients switch on), its kind and its default words. The
/// catalogue below is every code the service answers, in one place: a new code is one line here (and the HTTP API,
/// the OpenAPI document and the import report follow from it); domain errors map into it in `ErrorCode+Errors.swift`.
public struct ErrorCode: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let kind: ErrorKind
    /// The detail when the place that raises it has nothing more exact to say.
    public let text: String
    /// Seconds a client should wait before trying again (transient codes).
    public let retryAfter: Int?

    init(_ name: String, _ kind: ErrorKind, _ text: String, retryAfter: Int? = nil) {
        self.name = name
        self.kind = kind
        self.text = text
        self.retryAfter = retryAfter ?? (kind == .transient ? 5 : nil)
    }

    public var description: String { name }

    /// The code called `name`, if the catalogue has one.
    public static func named(_ name: String) -> ErrorCode? { byName[name] }
    private static let byName = Dictionary(uniqueKeysWithValues: (all + importReport).map { ($0.name, $0) })
}

// MARK: - The catalogue

extension ErrorCode {
    // Photos and faces.
    public static let noFace = ErrorCode("no_face", .unprocessable, "no face was found in the photo")
    public static let multipleFaces = ErrorCode(
        "multiple_faces", .unprocessable, "the photo shows more than one face; enrol from a photo of the member alone")
    public static let faceTooSmall = ErrorCode("face_too_small", .unprocessable, "the face is too small in the photo")
    public static let badPose = ErrorCode(
        "bad_pose", .unprocessable, "the head is turned or tilted too far; face the camera")
    public static let tooBlurry = ErrorCode("too_blurry", .unprocessable, "the face is too blurry")
    public static let noMatch = ErrorCode("no_match", .notFound, "nobody enrolled matches this face")
    public static let faceBelongsToOtherMember = ErrorCode(
        "face_belongs_to_other_member", .conflict, "this face matches another member")
    public static let noFacesEnrolled = ErrorCode(
        "no_faces_enrolled", .conflict, "this member has no enrolled face to compare with")
    public static let duplicateFace = ErrorCode(
        "duplicate_face", .conflict, "this photo is already enrolled for this member")
    public static let thumbnailKeyUnknown = ErrorCode(
        "thumbnail_key_unknown", .conflict, "this thumbnail is sealed under a key the service does not have")
    public static let thumbnailUnreadable = ErrorCode(
        "thumbnail_unreadable", .conflict, "this face's stored thumbnail does not open for this face (moved or damaged)"
    )

    // Images and request bodies.
    public static let emptyImage = ErrorCode("empty_image", .invalid, "the image is empty")
    public static let unsupportedImageFormat = ErrorCode(
        "unsupported_image_format", .unsupportedMedia, "the data is not a JPEG, PNG or WebP image")
    public static let corruptImage = ErrorCode("corrupt_image", .invalid, "the image data is corrupt")
    public static let truncatedImage = ErrorCode(
        "truncated_image", .invalid, "the image data ends before the image does")
    public static let imageTooLarge = ErrorCode("image_too_large", .tooLarge, "the image is larger than the limit")
    public static let imageTooManyPixels = ErrorCode(
        "image_too_many_pixels", .tooLarge, "the image has more pixels than the limit")
    public static let missingImage = ErrorCode("missing_image", .invalid, "the request carries no image")
    public static let tooManyImages = ErrorCode("too_many_images", .invalid, "too many images in one request")
    public static let tooManyParts = ErrorCode("too_many_parts", .invalid, "too many parts in one request")
    public static let invalidMultipart = ErrorCode("invalid_multipart", .invalid, "the multipart body is malformed")
    public static let invalidBase64 = ErrorCode("invalid_base64", .invalid, "image_base64 is not valid base64")
    public static let unsupportedMediaType = ErrorCode(
        "unsupported_media_type", .unsupportedMedia,
        "send the photo as image/jpeg, image/png or image/webp, as multipart/form-data with an 'image' part, "
            + "or as JSON {\"image_base64\": \"…\"}")
    public static let bodyTooLarge = ErrorCode(
        "body_too_large", .tooLarge, "the request body is larger than this endpoint accepts")
    public static let bodyTimeout = ErrorCode("body_timeout", .timedOut, "the request body did not arrive in time")
    public static let malformedRequest = ErrorCode(
        "malformed_request", .invalid, "the request body is incomplete or not valid HTTP")
    public static let invalidJSON = ErrorCode(
        "invalid_json", .invalid, "the request body is not the JSON this endpoint expects")
    public static let invalidField = ErrorCode("invalid_field", .invalid, "a field breaks its rule")
    public static let invalidValue = ErrorCode(
        "invalid_value", .invalid, "a value in the request cannot be stored (for example text with a NUL character)")
    public static let badRequest = ErrorCode("bad_request", .invalid, "the request is not one this endpoint takes")

    // Check-in at the door.
    public static let livenessRequired = ErrorCode(
        "liveness_required", .unprocessable,
        "this organisation's kiosks check in with a head turn: POST /checkins/challenges, then the frames with its challenge_id"
    )
    public static let livenessFailed = ErrorCode(
        "liveness_failed", .unprocessable, "this did not look like a live head turn")
    public static let livenessUnavailable = ErrorCode(
        "liveness_unavailable", .conflict,
        "this face model's landmarks cannot judge a head turn: use FACE_MODEL=sface, or set the organisation's liveness to off"
    )
    public static let challengeInvalid = ErrorCode(
        "challenge_invalid", .conflict, "this challenge is unknown, expired or used: ask for a new one")
    public static let membershipInactive = ErrorCode(
        "membership_inactive", .refused, "the membership is not active: please see the front desk")
    public static let wrongPIN = ErrorCode("wrong_pin", .refused, "that PIN is not right")
    public static let pinAmbiguous = ErrorCode(
        "pin_ambiguous", .conflict, "this PIN and face fit more than one member: please see the front desk")
    public static let checkinRefusedByValidator = ErrorCode(
        "checkin_refused_by_validator", .refused, "the check-in could not be confirmed: please see the front desk")

    // Members, accounts and organisations.
    public static let notFound = ErrorCode("not_found", .notFound, "there is no such thing here")
    public static let memberNotFound = ErrorCode("member_not_found", .notFound, "no such member in this organisation")
    public static let memberErased = ErrorCode(
        "member_erased", .gone, "the member this request concerned has been erased")
    public static let duplicateExternalID = ErrorCode(
        "duplicate_external_id", .conflict, "another member of this organisation has this external id")
    public static let duplicateEmail = ErrorCode(
        "duplicate_email", .conflict, "another member or account has this email")
    public static let duplicateUsername = ErrorCode(
        "duplicate_username", .conflict,
        "this username is not available; choose another (usernames are unique across the service)")
    public static let duplicateOrganization = ErrorCode(
        "duplicate_organization", .conflict, "another organisation already has this name")
    public static let cannotChangeOwnAccess = ErrorCode(
        "cannot_change_own_access", .conflict, "you cannot disable, demote or delete yourself")
    public static let superAdminIsAdmin = ErrorCode(
        "super_admin_is_admin", .conflict, "a super admin's role is always admin")
    public static let deliveryInProgress = ErrorCode(
        "delivery_in_progress", .conflict, "this delivery is being sent right now")

    // Authentication, permission and limits.
    public static let missingToken = ErrorCode(
        "missing_token", .unauthenticated, "this endpoint needs an access token (Authorization: Bearer …)")
    public static let invalidToken = ErrorCode("invalid_token", .unauthenticated, "the token is not valid")
    public static let invalidCredentials = ErrorCode(
        "invalid_credentials", .unauthenticated, "wrong username or password")
    public static let unauthorized = ErrorCode("unauthorized", .unauthenticated, "this needs an account")
    public static let forbidden = ErrorCode("forbidden", .refused, "this account may not do this")
    public static let wrongPassword = ErrorCode(
        "wrong_password", .refused, "current_password is not this account's password")
    public static let rateLimited = ErrorCode("rate_limited", .rateLimited, "too many requests; try again shortly")
    public static let invalidIdempotencyKey = ErrorCode(
        "invalid_idempotency_key", .invalid, "Idempotency-Key must have 1 to 200 characters")
    public static let idempotencyKeyReused = ErrorCode(
        "idempotency_key_reused", .unprocessable, "this Idempotency-Key was used for a different request")
    public static let idempotencyInProgress = ErrorCode(
        "idempotency_in_progress", .conflict,
        "a request with this Idempotency-Key is still running; try again shortly", retryAfter: 1)
    public static let methodNotAllowed = ErrorCode(
        "method_not_allowed", .methodNotAllowed, "this path does not take this method")

    // The service's own state.
    public static let overloaded = ErrorCode(
        "overloaded", .transient, "every face engine is busy; try again shortly", retryAfter: 1)
    public static let galleryLoading = ErrorCode(
        "gallery_loading", .transient, "the face gallery is loading; try again shortly")
    public static let modelSwitching = ErrorCode(
        "model_switching", .transient, "the service is switching to another face model; try again in a few seconds")
    public static let templateKeyUnknown = ErrorCode(
        "template_key_unknown", .transient, "face templates are stored under a key this instance does not have",
        retryAfter: 30)
    public static let databaseUnavailable = ErrorCode(
        "database_unavailable", .transient, "the database is unavailable; try again shortly", retryAfter: 2)
    public static let internalError = ErrorCode(
        "internal_error", .internal, "the server failed to handle this request; it has been logged with the request id")

    /// Every code the API answers with.
    public static let all: [ErrorCode] = [
        noFace, multipleFaces, faceTooSmall, badPose, tooBlurry, noMatch, faceBelongsToOtherMember, noFacesEnrolled,
        duplicateFace, thumbnailKeyUnknown, thumbnailUnreadable,
        emptyImage, unsupportedImageFormat, corruptImage, truncatedImage, imageTooLarge, imageTooManyPixels,
        missingImage,
        tooManyImages, tooManyParts, invalidMultipart, invalidBase64, unsupportedMediaType, bodyTooLarge, bodyTimeout,
        malformedRequest, invalidJSON, invalidField, invalidValue, badRequest,
        livenessRequired, livenessFailed, livenessUnavailable, challengeInvalid, membershipInactive, wrongPIN,
        pinAmbiguous,
        checkinRefusedByValidator,
        notFound, memberNotFound, memberErased, duplicateExternalID, duplicateEmail, duplicateUsername,
        duplicateOrganization, cannotChangeOwnAccess, superAdminIsAdmin, deliveryInProgress,
        missingToken, invalidToken, invalidCredentials, unauthorized, forbidden, wrongPassword, rateLimited,
        invalidIdempotencyKey, idempotencyKeyReused, idempotencyInProgress, methodNotAllowed,
        overloaded, galleryLoading, modelSwitching, templateKeyUnknown, databaseUnavailable, internalError,
    ]

    // Codes of the import report only (`facegate import members`): a row or a photo of the file, never an HTTP answer.
    public static let malformedRow = ErrorCode(
        "malformed_row", .invalid, "the row is not a well-formed CSV row of the header's width")
    public static let photoOutsideFolder = ErrorCode(
        "photo_outside_folder", .invalid, "the photo's path leads outside the photos folder")
    public static let photoNotFound = ErrorCode(
        "photo_not_found", .invalid, "there is no such photo in the photos folder")
    public static let photoUnreadable = ErrorCode("photo_unreadable", .invalid, "the photo cannot be read")
    public static let photoNotAFile = ErrorCode("photo_not_a_file", .invalid, "the photo's path is not a regular file")

    public static let importReport: [ErrorCode] = [
        malformedRow, photoOutsideFolder, photoNotFound, photoUnreadable, photoNotAFile,
    ]
}
