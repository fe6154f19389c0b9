import Foundation
import Liveness
import Storage
import UseCases
import Webhooks

/// The OpenAPI 3.1 description of every route, served at `/api/v1/openapi.json`. `buildApplication` refuses to
/// start when the router and this document disagree (`mismatches`), so the document cannot go stale silently.
enum OpenAPIDocument {
    static let data: Data = {
        // JSONSerialization cannot fail on this literal tree; an empty document would fail the route check loudly.
        (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
    }()

    /// Routes served but not documented, and documented but not served ("METHOD /path").
    static func mismatches(with routes: [(method: String, path: String)]) -> [String] {
        let served = Set(routes.map { "\($0.method.uppercased()) \($0.path)" })
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
        return served.subtracting(documented).map { "undocumented: \($0)" }.sorted()
            + documented.subtracting(served).map { "not served: \($0)" }.sorted()
    }

    static var document: [String: Any] {
        [
            "openapi": "3.1.0",
            "info": [
                "title": "facegate", "version": "1",
                "description": """
                Face registration and check-in by face photo. Every error is application/problem+json (RFC 9457) \
                with a stable `code`. Distances are cosine distances (1 − cosine similarity); the tolerance, the \
                largest distance that counts as the same person, is derived for the organisation's gallery from \
                FACE_MATCH_TARGET_FPIR (or fixed by FACE_MATCH_TOLERANCE).
                """,
            ],
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
                "schemas": schemas,
            ],
            "paths": paths,
        ]
    }

    // MARK: - Paths

    static var paths: [String: [String: Any]] {
        [
            "/health": [
                "get": op("Liveness", tag: "service", auth: false, responses: ["200": object("the process serves")])
            ],
            "/ready": [
                "get": op(
                    "Readiness: database, schema, models and gallery checked for real", tag: "service",
                    auth: false, responses: ["200": object("ready"), "503": ref("Readiness", "not ready")])
            ],
            "/metrics": [
                "get": op(
                    "Prometheus metrics: requests per route and status, latencies, pipeline stages, gallery size, engine queue",
                    tag: "service", auth: false,
                    responses: ["200": ["description": "Prometheus text format", "content": ["text/plain": [:]]]])
            ],
            "/kiosk": [
                "get": op(
                    "The kiosk page: check-in by camera, for kiosk accounts", tag: "pages", auth: false,
                    responses: page("HTML", types: ["text/html"]))
            ],
            "/admin": [
                "get": op(
                    "The admin page: members, face registration, check-ins, accounts", tag: "pages",
                    auth: false, responses: page("HTML", types: ["text/html"]))
            ],
            "/ui/{file}": [
                "get": op(
                    "A file of the pages (script, style, or the pages themselves)", tag: "pages", auth: false,
                    parameters: [["name": "file", "in": "path", "required": true, "schema": string]],
                    responses: page(
                        "JavaScript, CSS or HTML", types: ["text/javascript", "text/css", "text/html"],
                        notFound: true))
            ],
            "/api/v1/openapi.json": [
                "get": op("This document", tag: "service", auth: false, responses: ["200": object("OpenAPI 3.1")])
            ],
            "/api/v1/docs": [
                "get": op(
                    "This document as a readable page", tag: "service", auth: false,
                    responses: ["200": ["description": "HTML", "content": ["text/html": [:]]]])
            ],
            "/api/v1/auth/login": [
                "post": op(
                    "Log in", tag: "auth", auth: false,
                    body: json(["username": string, "password": string], required: ["username", "password"]),
                    responses: [
                        "200": ref("TokenPair"), "401": problem(.invalidCredentials),
                        "429": problem(.rateLimited),
                    ])
            ],
            "/api/v1/auth/refresh": [
                "post": op(
                    "Exchange a refresh token for a new pair (the old one is revoked; reusing it revokes the session)",
                    tag: "auth", auth: false,
                    body: json(["refresh_token": string], required: ["refresh_token"]),
                    responses: ["200": ref("TokenPair"), "401": problem(.invalidToken)])
            ],
            "/api/v1/auth/logout": ["post": op("End this session", tag: "auth", responses: ["204": empty])],
            "/api/v1/auth/me": ["get": op("The signed-in account", tag: "auth", responses: ["200": ref("User")])],
            "/api/v1/organizations": [
                "post": op(
                    "Create an organisation (super admin)", tag: "organizations",
                    body: json(["name": string, "time_zone": string, "liveness": livenessSchema], required: ["name"]),
                    responses: [
                        "201": ref("Organization"), "400": problem(.invalidField),
                        "409": problem(.duplicateOrganization),
                    ]),
                "get": op(
                    "List organisations (super admin)", tag: "organizations",
                    responses: ["200": list("organizations", "Organization")]),
            ],
            "/api/v1/organizations/{id}": [
                "get": op(
                    "An organisation and its settings (super admin; every account its own)", tag: "organizations",
                    parameters: [pathID("id")], responses: ["200": ref("Organization")]),
                "patch": op(
                    """
                    Change an organisation's settings: its IANA time_zone, in which a membership's last day ends, and \
                    its liveness policy: challenge (a kiosk checks in with a head turn) or off (its terminals bring \
                    their own liveness) (super admin; an admin their own)
                    """, tag: "organizations", parameters: [pathID("id")],
                    body: json([
                        "time_zone": string, "liveness": livenessSchema,
                        "checkin_validation_url": [
                            "type": ["string", "null"],
                            "description": """
                            asked before each recognised member is checked in (null: nobody); \
                            setting it answers checkin_validation_secret once
                            """,
                        ],
                    ]),
                    responses: ["200": ref("Organization"), "400": problem(.invalidField)]),
            ],
            "/api/v1/users": [
                "post": op(
                    "Create an account (admin; organization_id: super admin only)", tag: "users",
                    body: json(
                        [
                            "username": string, "password": string, "role": roleSchema, "email": string,
                            "organization_id": uuid,
                        ], required: ["username", "password", "role"]),
                    responses: ["201": ref("User"), "409": problem(.duplicateUsername, .duplicateEmail)]),
                "get": op(
                    "List the organisation's accounts (admin)", tag: "users", responses: ["200": list("users", "User")]),
            ],
            "/api/v1/users/{id}": [
                "get": op(
                    "One account (admin)", tag: "users", parameters: [pathID("id")], responses: ["200": ref("User")]),
                "patch": op(
                    """
                    Change role, email, password or disabled (admin); disabling ends the account's sessions, a new \
                    password all but the caller's; one's own password needs current_password
                    """, tag: "users",
                    parameters: [pathID("id")],
                    body: json([
                        "role": roleSchema, "email": string, "password": string, "disabled": boolean,
                        "current_password": string,
                    ]),
                    responses: [
                        "200": ref("User"), "400": problem(.invalidField),
                        "403": problem(
                            .forbidden, .wrongPassword,
                            note: "forbidden: an account of higher privilege, the super admin's"),
                        "409": problem(.cannotChangeOwnAccess, .superAdminIsAdmin, .duplicateEmail),
                    ]),
                "delete": op(
                    "Delete an account (admin)", tag: "users", parameters: [pathID("id")],
                    responses: [
                        "204": empty,
                        "403": problem(.forbidden, note: "an account of higher privilege: the super admin's"),
                        "409": problem(.cannotChangeOwnAccess),
                    ]),
            ],
            "/api/v1/members": [
                "post": idempotent(
                    op(
                        "Create a member (admin, operator)", tag: "members",
                        body: json(memberFields, required: ["name"]),
                        responses: ["201": ref("Member"), "409": problem(.duplicateExternalID)])),
                "get": op(
                    "Search members by name, external id or email, paged (admin, operator)", tag: "members",
                    parameters: [query("q", string), query("limit", integer(1...200)), query("cursor", string)],
                    responses: ["200": ref("MemberPage")]),
            ],
            "/api/v1/members/{id}": [
                "get": op(
                    "One member (admin, operator)", tag: "members", parameters: [pathID("id")],
                    responses: ["200": ref("Member")]),
                "patch": op(
                    "Change a member (admin, operator)", tag: "members", parameters: [pathID("id")],
                    body: json(memberFields), responses: ["200": ref("Member"), "409": problem(.duplicateExternalID)]),
                "delete": op(
                    "Erase a member and all their biometric data (admin, operator); recorded in the audit log",
                    tag: "members", parameters: [pathID("id")], responses: ["204": empty]),
            ],
            "/api/v1/members/{id}/export": [
                "get": op(
                    """
                    A member's own data as one JSON document to download: the member, their faces (what made each and \
                    from which photo, never a template), check-ins and the audit entries about them (admin; GDPR \
                    articles 15 and 20); the export is audited as member_exported
                    """, tag: "members", parameters: [pathID("id")],
                    responses: ["200": ref("MemberData"), "404": problem(.notFound)])
            ],
            "/api/v1/members/{id}/faces": [
                "post": idempotent(
                    op(
                        "Enrol faces from photos (admin, operator); several `image` parts give per-image results",
                        tag: "faces", parameters: [pathID("id")], body: imageBody(several: true),
                        responses: [
                            "201": ref("Enrolled"), "200": ref("EnrolmentResults", "several images"),
                            "409": problem(.faceBelongsToOtherMember),
                            "422": problem(.noFace, .multipleFaces, .faceTooSmall, .tooBlurry, .badPose),
                        ])),
                "get": op(
                    "The member's faces (admin, operator)", tag: "faces", parameters: [pathID("id")],
                    responses: ["200": list("faces", "Face")]),
            ],
            "/api/v1/members/{id}/faces/{face_id}": [
                "delete": op(
                    "Delete one face (admin, operator)", tag: "faces", parameters: [pathID("id"), pathID("face_id")],
                    responses: ["204": empty])
            ],
            "/api/v1/members/{id}/faces/{face_id}/thumbnail": [
                "get": op(
                    "The aligned face chip, PNG (admin, operator; stored encrypted)", tag: "faces",
                    parameters: [pathID("id"), pathID("face_id")],
                    responses: ["200": ["description": "PNG", "content": ["image/png": [:]]]])
            ],
            "/api/v1/identify": [
                "post": op(
                    "Who is this? The nearest members within the tolerance, no side effect (admin, operator)",
                    tag: "matching", parameters: [query("top_k", integer(1...50))], body: imageBody(),
                    responses: ["200": ref("Identification"), "422": problem(.noFace)])
            ],
            "/api/v1/checkins": [
                "post": idempotent(
                    op(
                        """
                        Check in by face (kiosk, operator, admin); with member_code (JSON field, multipart field or query \
                        parameter) 1:1 against that member only; or by hand with JSON {member_id, reason} (operator, \
                        admin; audited). A face no member is within the 1:N tolerance of, but within the 1:1 tolerance of \
                        members with a PIN, answers 202 needs_confirmation (POST /checkins/confirmations/{id} takes the \
                        PIN). A member whose membership is paused, cancelled or past its last day is refused with 403 \
                        membership_inactive (reason, member); a repeat within CHECKIN_DEDUP_SECONDS returns the first \
                        with 200. With a challenge_id (POST /checkins/challenges) the body carries 2 to 8 frames of the \
                        head turn in capture order (repeated multipart image parts, or JSON images_base64): 422 \
                        liveness_failed with reason (no_turn, wrong_direction, flat_face, not_continuous, \
                        different_people, face_missing) unless they show one live head turning the asked way; 409 \
                        challenge_invalid for an unknown, expired, used or other account's challenge. A kiosk of an \
                        organisation whose liveness is challenge must use one (422 liveness_required for a single photo). \
                        Every attempt goes on the attempt record
                        """, tag: "checkins", parameters: [query("member_code", string)], body: checkinBody(),
                        responses: [
                            "201": ref("Checkin"), "200": ref("Checkin", "already checked in"),
                            "202": ref("Confirmation", "needs the member's PIN"),
                            "400": problem(.invalidField),
                            "403": problem(.forbidden, .membershipInactive, .checkinRefusedByValidator),
                            "404": problem(.noMatch, .notFound), "409": problem(.challengeInvalid),
                            "422": problem(.noFace, .livenessFailed, .livenessRequired),
                        ])),
                "get": op(
                    "Check-in history, newest first (admin, operator)", tag: "checkins",
                    parameters: [
                        query("member_id", uuid), query("from", dateTime), query("to", dateTime),
                        query("limit", integer(1...200)), query("cursor", string),
                    ],
                    responses: ["200": ref("CheckinPage")]),
            ],
            "/api/v1/checkins/challenges": [
                "post": op(
                    """
                    A liveness challenge for this account (kiosk, operator, admin): a random turn, left (the person's \
                    own left: in the unmirrored camera image the nose moves towards the right edge) or right, that the \
                    next check-in's frames must show with this challenge_id, once, within expires_in seconds
                    """, tag: "checkins",
                    responses: ["201": ref("Challenge"), "409": problem(.livenessUnavailable)])
            ],
            "/api/v1/checkins/export": [
                "get": op(
                    """
                    The check-ins within [from, to), oldest first, for billing and attendance (admin, operator): CSV \
                    with a header line (checked_in_at,member_id,external_id,name,distance,method) or JSON Lines, sent as they \
                    are read
                    """, tag: "checkins",
                    parameters: [
                        query("from", dateTime), query("to", dateTime),
                        query("format", ["type": "string", "enum": ExportFormat.allCases.map(\.rawValue)]),
                    ],
                    responses: [
                        "200": [
                            "description": "CSV, or JSON Lines (format=jsonl)",
                            "content": ["text/csv": [String: Any](), "application/jsonl": [String: Any]()],
                        ],
                        "400": problem(.invalidField),
                    ])
            ],
            "/api/v1/checkins/confirmations/{id}": [
                "post": op(
                    """
                    The PIN for a check-in that answered 202 needs_confirmation, by the same account (kiosk, operator, \
                    admin): 201 for the candidate whose PIN it is (method face_pin); 403 wrong_pin with attempts_left; \
                    404 once it is unknown, expired, used up or another account's
                    """, tag: "checkins", parameters: [pathID("id")],
                    body: json(["pin": ["type": "string", "pattern": "^[0-9]{4,8}$"]], required: ["pin"]),
                    responses: [
                        "201": ref("Checkin"), "200": ref("Checkin", "already checked in"),
                        "400": problem(.invalidField),
                        "403": problem(.forbidden, .wrongPIN, .membershipInactive, .checkinRefusedByValidator),
                        "404": problem(.notFound), "409": problem(.pinAmbiguous),
                    ])
            ],
            "/api/v1/checkins/attempts": [
                "get": op(
                    """
                    Every check-in attempt, admitted or refused, newest first: time, account, method, outcome (the \
                    answer's code), the member it was about and the distance; no photo (admin, operator)
                    """, tag: "checkins",
                    parameters: [
                        query("from", dateTime), query("to", dateTime), query("outcome", string),
                        query("limit", integer(1...200)), query("cursor", string),
                    ],
                    responses: ["200": ref("AttemptPage"), "400": problem(.invalidField)])
            ],
            "/api/v1/webhooks": [
                "post": op(
                    """
                    Register an endpoint for the organisation's events (admin): each event is POSTed as a WebhookEvent,                     signed in Facegate-Signature (t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>); the signing                     secret is in this answer only. https only unless WEBHOOK_ALLOW_HTTP; no loopback, private or                     link-local address unless WEBHOOK_ALLOW_PRIVATE_NETWORKS
                    """, tag: "webhooks",
                    body: json(
                        ["url": string, "events": webhookEvents, "description": string],
                        required: ["url", "events"]),
                    responses: ["201": ref("Webhook"), "400": problem(.invalidField)]),
                "get": op(
                    "The organisation's webhook endpoints (admin)", tag: "webhooks",
                    responses: ["200": list("webhooks", "Webhook")]),
            ],
            "/api/v1/webhooks/{id}": [
                "get": op(
                    "One endpoint (admin)", tag: "webhooks", parameters: [pathID("id")],
                    responses: ["200": ref("Webhook"), "404": problem(.notFound)]),
                "patch": op(
                    """
                    Change an endpoint's url, events, description or enabled (enabling clears why the service                     disabled it); rotate_secret: true answers a new secret once, the old one signing beside it for                     previous_secret_hours (default 24) (admin)
                    """, tag: "webhooks", parameters: [pathID("id")],
                    body: json([
                        "url": string, "events": webhookEvents, "description": string, "enabled": boolean,
                        "rotate_secret": boolean, "previous_secret_hours": integer(0...168),
                    ]),
                    responses: ["200": ref("Webhook"), "400": problem(.invalidField), "404": problem(.notFound)]),
                "delete": op(
                    "Delete an endpoint and its deliveries (admin)", tag: "webhooks", parameters: [pathID("id")],
                    responses: ["204": empty, "404": problem(.notFound)]),
            ],
            "/api/v1/webhooks/{id}/deliveries": [
                "get": op(
                    "The endpoint's deliveries, newest first, each with its latest attempts (admin)", tag: "webhooks",
                    parameters: [pathID("id"), query("limit", integer(1...200)), query("cursor", string)],
                    responses: ["200": ref("WebhookDeliveryPage"), "404": problem(.notFound)])
            ],
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver": [
                "post": op(
                    "Send a delivery again now, with the same event id and a new retry window (admin)",
                    tag: "webhooks", parameters: [pathID("id"), pathID("delivery_id")],
                    responses: [
                        "202": object("queued: delivery_id"), "404": problem(.notFound),
                        "409": problem(.deliveryInProgress),
                    ])
            ],
            "/api/v1/webhooks/{id}/ping": [
                "post": op(
                    "Send a ping event to this endpoint alone (admin)", tag: "webhooks", parameters: [pathID("id")],
                    responses: ["202": object("queued: delivery_id"), "404": problem(.notFound)])
            ],
            "/api/v1/members/{id}/verify": [
                "post": op(
                    "Is this the member? 1:1 against the member's faces (admin, operator)", tag: "matching",
                    parameters: [pathID("id")], body: imageBody(),
                    responses: ["200": ref("Verification"), "409": problem(.noFacesEnrolled), "422": problem(.noFace)])
            ],
            "/api/v1/detect": [
                "post": op(
                    "Faces in a photo, with landmarks (admin, operator)", tag: "matching", body: imageBody(),
                    responses: ["200": ref("Detection")])
            ],
        ]
    }

    // MARK: - Building blocks

    static var string: [String: Any] { ["type": "string"] }
    static var boolean: [String: Any] { ["type": "boolean"] }
    static var number: [String: Any] { ["type": "number"] }
    /// An id in a request: any case.
    static var uuid: [String: Any] { ["type": "string", "format": "uuid"] }
    /// An id in a response: always lowercase (RFC 9562 §4).
    static var uuidOut: [String: Any] {
        [
            "type": "string", "format": "uuid",
            "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        ]
    }
    static var dateTime: [String: Any] { ["type": "string", "format": "date-time"] }
    static var roleSchema: [String: Any] { ["type": "string", "enum": ["admin", "operator", "kiosk"]] }
    static var livenessSchema: [String: Any] {
        ["type": "string", "enum": OrganizationStore.LivenessPolicy.allCases.map(\.rawValue)]
    }
    static var empty: [String: Any] { ["description": "no content"] }
    static var webhookEvents: [String: Any] {
        [
            "type": "array", "minItems": 1,
            "items": ["type": "string", "enum": WebhookEventType.allCases.map(\.rawValue)],
        ]
    }

    /// A page file's answers: the file (of one of `types`), 304 when the browser's copy (If-None-Match) is current,
    /// and 404 `not_found` for a file that is not there.
    static func page(_ description: String, types: [String], notFound: Bool = false) -> [String: Any] {
        var responses: [String: Any] = [
            "200": [
                "description": description,
                "content": Dictionary(uniqueKeysWithValues: types.map { ($0, [String: Any]()) }),
            ],
            "304": ["description": "not modified"],
        ]
        if notFound { responses["404"] = problem(.notFound) }
        return responses
    }
    static var memberFields: [String: Any] {
        [
            "name": string, "external_id": string, "email": string, "metadata": ["type": "object"],
            "status": membershipStatus, "valid_until": ["type": ["string", "null"], "format": "date"],
            "pin": ["type": ["string", "null"], "pattern": "^[0-9]{4,8}$", "writeOnly": true],
            "pin_locked": ["type": "boolean", "const": false],
        ]
    }
    static var membershipStatus: [String: Any] { ["type": "string", "enum": ["active", "paused", "cancelled"]] }

    static func integer(_ range: ClosedRange<Int>) -> [String: Any] {
        ["type": "integer", "minimum": range.lowerBound, "maximum": range.upperBound]
    }

    static func op(
        _ summary: String, tag: String, auth: Bool = true, parameters: [[String: Any]] = [], body: [String: Any]? = nil,
        responses: [String: Any]
    ) -> [String: Any] {
        var all = responses
        all["default"] = [
            "description": "an error",
            "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
        ]
        if auth {
            all["401"] = all["401"] ?? problem(.missingToken, .invalidToken)
            all["403"] = all["403"] ?? problem(.forbidden)
            all["429"] = all["429"] ?? problem(.rateLimited)
        }
        var operation: [String: Any] = ["summary": summary, "tags": [tag], "responses": all]
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let body { operation["requestBody"] = body }
        operation["security"] = auth ? [["bearer": [String]()]] : [[String: Any]]()
        return operation
    }

    /// A problem answer naming the catalogue's `codes` it may carry.
    static func problem(_ codes: ErrorCode..., note: String? = nil) -> [String: Any] {
        [
            "description": "problem: " + codes.map(\.name).joined(separator: ", ") + (note.map { " (\($0))" } ?? ""),
            "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
        ]
    }

    static func ref(_ schema: String, _ description: String = "OK") -> [String: Any] {
        [
            "description": description,
            "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]],
        ]
    }

    static func object(_ description: String) -> [String: Any] {
        ["description": description, "content": ["application/json": ["schema": ["type": "object"]]]]
    }

    static func list(_ key: String, _ schema: String) -> [String: Any] {
        [
            "description": "OK",
            "content": [
                "application/json": [
                    "schema": [
                        "type": "object",
                        "properties": [key: ["type": "array", "items": ["$ref": "#/components/schemas/\(schema)"]]],
                    ]
                ]
            ],
        ]
    }

    static func json(_ properties: [String: Any], required: [String] = []) -> [String: Any] {
        [
            "required": true,
            "content": [
                "application/json": [
                    "schema": [
                        "type": "object", "properties": properties, "required": required,
                    ]
                ]
            ],
        ]
    }

    static func imageBody(several: Bool = false) -> [String: Any] {
        let binary: [String: Any] = ["type": "string", "contentMediaType": "image/*"]
        let part: [String: Any] = several ? ["type": "array", "items": binary, "maxItems": 10] : binary
        return [
            "required": true,
            "content": [
                "image/jpeg": ["schema": binary], "image/png": ["schema": binary], "image/webp": ["schema": binary],
                "multipart/form-data": [
                    "schema": [
                        "type": "object", "properties": ["image": part] as [String: Any],
                        "required": ["image"],
                    ]
                ],
                "application/json": [
                    "schema": [
                        "type": "object", "properties": ["image_base64": string],
                        "required": ["image_base64"],
                    ]
                ],
            ],
        ]
    }

    /// `POST /checkins`: a photo as every photo endpoint takes it, or JSON `{member_id, reason}` for a staff check-in.
    static func checkinBody() -> [String: Any] {
        var body = imageBody()
        var content = body["content"] as! [String: Any]
        content["multipart/form-data"] = [
            "schema": [
                "type": "object",
                "properties": [
                    "image": ["type": "string", "contentMediaType": "image/*"], "member_code": string,
                    "challenge_id": uuid,
                ],
                "required": ["image"],
            ]
        ]
        content["application/json"] = [
            "schema": [
                "oneOf": [
                    [
                        "type": "object", "properties": ["image_base64": string, "member_code": string],
                        "required": ["image_base64"],
                    ],
                    [
                        "type": "object",
                        "properties": [
                            "challenge_id": uuid, "member_code": string,
                            "images_base64": [
                                "type": "array", "items": string,
                                "minItems": CheckIn.challengeFrameCounts.lowerBound,
                                "maxItems": CheckIn.challengeFrameCounts.upperBound,
                            ],
                        ],
                        "required": ["challenge_id", "images_base64"],
                    ],
                    [
                        "type": "object",
                        "properties": [
                            "member_id": uuid, "reason": ["type": "string", "minLength": 1, "maxLength": 500],
                        ],
                        "required": ["member_id", "reason"],
                    ],
                ]
            ]
        ]
        body["content"] = content
        return body
    }

    /// `operation` with the optional `Idempotency-Key` header and the answers it adds (`IdempotencyMiddleware`).
    static func idempotent(_ operation: [String: Any]) -> [String: Any] {
        var operation = operation
        operation["parameters"] =
            (operation["parameters"] as? [[String: Any]] ?? []) + [
                [
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "description":
                        "the same key (per account, kept a day) returns the first answer instead of doing the work again",
                    "schema": ["type": "string", "minLength": 1, "maxLength": 200],
                ]
            ]
        var responses = operation["responses"] as? [String: Any] ?? [:]
        for (status, code) in [
            ("400", ErrorCode.invalidIdempotencyKey), ("409", .idempotencyInProgress),
            ("410", .memberErased), ("422", .idempotencyKeyReused),
        ] {
            var answer = problem(code)
            if let before = (responses[status] as? [String: Any])?["description"] as? String {
                answer["description"] = before + ", " + code.name
            }
            responses[status] = answer
        }
        operation["responses"] = responses
        return operation
    }

    static func pathID(_ name: String) -> [String: Any] {
        ["name": name, "in": "path", "required": true, "schema": uuid]
    }

    static func query(_ name: String, _ schema: [String: Any]) -> [String: Any] {
        ["name": name, "in": "query", "required": false, "schema": schema]
    }

    static func schema(_ properties: [String: Any], required: [String]? = nil) -> [String: Any] {
        ["type": "object", "properties": properties, "required": required ?? Array(properties.keys).sorted()]
    }

    static var checkinMethod: [String: Any] { ["type": "string", "enum": CheckinMethod.allCases.map(\.rawValue)] }

    static var schemas: [String: Any] {
        let box = schema([
            "x": ["type": "integer"], "y": ["type": "integer"], "width": ["type": "integer"],
            "height": ["type": "integer"],
        ])
        let memberSummary = schema(
            ["id": uuidOut, "name": string, "external_id": ["type": ["string", "null"]]], required: ["id", "name"])
        let quality: [String: Any] = ["type": "object", "additionalProperties": number]
        return [
            // Every code the service answers with, from the error catalogue (`ErrorCode.all`).
            "Problem": schema(
                [
                    "type": string, "title": string, "status": ["type": "integer"],
                    "code": ["type": "string", "enum": ErrorCode.all.map(\.name)],
                    "detail": string, "request_id": string,
                ], required: ["status", "code", "detail"]),
            "TokenPair": schema([
                "access_token": string, "refresh_token": string, "token_type": string,
                "expires_in": ["type": "integer"],
            ]),
            "Organization": schema(
                [
                    "id": uuidOut, "name": string, "time_zone": string,
                    "liveness": livenessSchema, "checkin_validation_url": ["type": ["string", "null"]],
                    "checkin_validation_secret": ["type": "string", "description": "when set only"],
                    "created_at": dateTime,
                ],
                required: ["id", "name", "time_zone", "liveness", "checkin_validation_url", "created_at"]),
            "Webhook": schema(
                [
                    "id": uuidOut, "url": string, "description": string, "events": webhookEvents,
                    "enabled": boolean, "disabled_reason": ["type": ["string", "null"]],
                    "previous_secret_until": ["type": ["string", "null"], "format": "date-time"],
                    "secret": ["type": "string", "description": "when created or rotated only"],
                    "created_at": dateTime, "updated_at": dateTime,
                ],
                required: ["id", "url", "description", "events", "enabled", "created_at", "updated_at"]),
            "WebhookDeliveryPage": schema(
                [
                    "deliveries": [
                        "type": "array",
                        "items": schema(
                            [
                                "id": uuidOut, "event_id": uuidOut, "event_type": string,
                                "state": ["type": "string", "enum": ["pending", "delivered", "failed"]],
                                "attempts": ["type": "integer"], "next_attempt_at": dateTime, "delivered_at": dateTime,
                                "created_at": dateTime,
                                "history": [
                                    "type": "array",
                                    "items": schema(
                                        [
                                            "at": dateTime, "status_code": ["type": ["integer", "null"]],
                                            "duration_ms": ["type": "integer"],
                                            "error": ["type": ["string", "null"]],
                                        ], required: ["at", "duration_ms"]),
                                ],
                            ], required: ["id", "event_id", "event_type", "state", "attempts", "created_at", "history"]),
                    ],
                    "next_cursor": ["type": ["string", "null"]],
                ], required: ["deliveries"]),
            "WebhookEvent": schema([
                "id": [
                    "type": "string", "format": "uuid",
                    "description": "unique per event, the same on every retry: the receiver's de-duplication key",
                ],
                "type": [
                    "type": "string", "enum": WebhookEventType.allCases.map(\.rawValue) + [WebhookEventType.ping],
                ],
                "created_at": dateTime, "organization_id": uuidOut,
                "data": [
                    "type": "object",
                    "description": WebhookEventType.allCases.map { "\($0.rawValue): \($0.fields)" }
                        .joined(separator: "; "),
                ],
            ]),
            "Challenge": schema([
                "challenge_id": uuidOut, "turn": ["type": "string", "enum": TurnDirection.allCases.map(\.rawValue)],
                "expires_in": ["type": "integer"],
            ]),
            "User": schema(
                [
                    "id": uuidOut, "organization_id": uuidOut, "username": string,
                    "email": ["type": ["string", "null"]],
                    "role": roleSchema,
                    "is_super_admin": ["type": "boolean", "description": "shown to super admins only"],
                    "disabled": boolean, "created_at": dateTime,
                ],
                required: ["id", "organization_id", "username", "role"]),
            "Member": schema(
                [
                    "id": uuidOut, "name": string, "external_id": ["type": ["string", "null"]],
                    "email": ["type": ["string", "null"]], "metadata": ["type": "object"],
                    "status": membershipStatus, "valid_until": ["type": "string", "format": "date"],
                    "has_pin": boolean, "pin_locked": boolean,
                    "face_count": ["type": "integer"], "created_at": dateTime, "updated_at": dateTime,
                ],
                required: ["id", "name", "metadata", "status", "has_pin", "pin_locked", "face_count"]),
            "MemberPage": schema(
                [
                    "members": ["type": "array", "items": ["$ref": "#/components/schemas/Member"]],
                    "next_cursor": ["type": ["string", "null"]],
                ], required: ["members"]),
            "Box": box,
            "Face": schema(
                ["face_id": uuidOut, "box": box, "quality": quality, "created_at": dateTime], required: ["face_id"]),
            "Enrolled": schema(["face_id": uuidOut, "box": box, "quality": quality]),
            "EnrolmentResults": schema([
                "results": [
                    "type": "array",
                    "items": schema(
                        [
                            "index": ["type": "integer"], "status": ["type": "integer"], "face_id": uuidOut, "box": box,
                            "quality": quality, "code": string, "detail": string,
                        ], required: ["index", "status"]),
                ]
            ]),
            "Identification": schema([
                "matches": [
                    "type": "array",
                    "items": schema(["member": memberSummary, "distance": number, "similarity": number]),
                ],
                "face": schema(["box": box]),
            ]),
            "Checkin": schema(
                [
                    "checkin_id": uuidOut, "member": memberSummary, "distance": number, "similarity": number,
                    "checked_in_at": dateTime, "method": checkinMethod,
                ],
                required: ["checkin_id", "member", "checked_in_at", "method"]),
            "Confirmation": schema([
                "code": ["type": "string", "const": "needs_confirmation"], "confirmation_id": uuidOut,
                "expires_in": ["type": "integer"], "method": ["type": "string", "const": "pin"],
            ]),
            "AttemptPage": schema(
                [
                    "attempts": [
                        "type": "array",
                        "items": schema(
                            [
                                "id": uuidOut, "occurred_at": dateTime, "account_id": uuidOut, "method": checkinMethod,
                                "outcome": string, "member": memberSummary, "distance": number, "reason": string,
                                "checkin_id": uuidOut,
                            ], required: ["id", "occurred_at", "method", "outcome"]),
                    ],
                    "next_cursor": ["type": ["string", "null"]],
                ], required: ["attempts"]),
            "CheckinPage": schema(
                [
                    "checkins": ["type": "array", "items": ["$ref": "#/components/schemas/Checkin"]],
                    "next_cursor": ["type": ["string", "null"]],
                ], required: ["checkins"]),
            "MemberData": schema([
                "exported_at": dateTime,
                "member": ["$ref": "#/components/schemas/Member"],
                "faces": [
                    "type": "array",
                    "items": schema(
                        [
                            "face_id": uuidOut, "model": string, "model_version": string, "box": box,
                            "quality": quality,
                            "photo_digest": string, "created_at": dateTime,
                        ],
                        required: ["face_id", "model", "model_version", "quality", "photo_digest", "created_at"]),
                ],
                "checkins": [
                    "type": "array",
                    "items": schema(
                        [
                            "checkin_id": uuidOut, "checked_in_at": dateTime, "distance": number, "similarity": number,
                            "method": checkinMethod,
                        ], required: ["checkin_id", "checked_in_at", "method"]),
                ],
                "audit_log": [
                    "type": "array",
                    "items": schema(
                        [
                            "id": ["type": "integer"], "occurred_at": dateTime, "action": string,
                            "actor_user_id": uuidOut,
                            "target": string, "details": ["type": "object"],
                        ],
                        required: ["id", "occurred_at", "action", "details"]),
                ],
            ]),
            "Verification": schema(["match": boolean, "distance": number, "similarity": number, "tolerance": number]),
            "Detection": schema([
                "faces": [
                    "type": "array",
                    "items": schema([
                        "box": box, "score": number,
                        "landmarks": ["type": "array", "items": schema(["x": number, "y": number])],
                    ]),
                ],
                "width": ["type": "integer"], "height": ["type": "integer"],
            ]),
            "Readiness": ["type": "object"],
        ]
    }
}
