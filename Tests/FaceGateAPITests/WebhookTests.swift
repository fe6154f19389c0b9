import Foundation
import HTTPTypes
import HummingbirdTesting
import ImageDecoding
import PostgresNIO
import Storage
import TestSupport
import Testing
import Webhooks

@testable import FaceGateAPI
@testable import FaceGateRuntime

/// Webhooks against a real HTTP receiver: events written with the change they describe, signed, delivered at least
/// once with their ids across a receiver's outage, in order per member, shared by two instances without doubles;
/// and the addresses and schemes a URL may not have.
@Suite("Webhooks", .requiresDatabase)
struct WebhookTests {
    /// Receivers on this machine's loopback, plain http; retries a second apart at first.
    static func adjust(_ configuration: inout AppConfiguration) {
        configuration.webhooks.allowHTTP = true
        configuration.webhooks.allowPrivateNetworks = true
        configuration.webhooks.initialBackoff = .seconds(1)
    }

    static func register(
        _ client: any TestClientProtocol, token: String, url: String,
        events: [String] = WebhookEventType.allCases.map(\.rawValue)
    ) async throws -> (id: String, secret: String) {
        let created = try await client.json(
            .post, "/api/v1/webhooks", token: token,
            body: ["url": url, "events": events, "description": "the gym's CRM"])
        try #require(created.status == .created, "\(created.body)")
        return (try #require(created.body["id"] as? String), try #require(created.body["secret"] as? String))
    }

    func verified(_ received: [WebhookReceiver.Received], secret: String) -> Bool {
        received.allSatisfy {
            WebhookSignature.verify($0.signature, secret: secret, body: $0.body, now: Int(Date().timeIntervalSince1970))
        }
    }

    @Test(
        """
        each change's event reaches the receiver signed, once, in order for a member; a rolled-back change sends \
        nothing; an erasure removes the member's data from the events kept; ping, deliveries and redelivery
        """)
    func deliveredInOrder() async throws {
        let receiver = WebhookReceiver(port: TestEnvironment.freePort())
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        try await withApplication(Self.adjust) { client, url in
            let admin = try await client.accessToken()
            let (endpoint, secret) = try await Self.register(client, token: admin, url: receiver.url)
            let member = try #require(
                try await client.json(
                    .post, "/api/v1/members", token: admin,
                    body: [
                        "name": "Ada Lovelace", "external_id": "crm-1", "email": "ada@example.org",
                    ]
                ).body["id"] as? String)
            // A refused change (the external id is taken): rolled back, no event.
            #expect(
                try await client.json(
                    .post, "/api/v1/members", token: admin,
                    body: [
                        "name": "Ada Again", "external_id": "crm-1",
                    ]
                ).status == .conflict)
            #expect(
                try await client.json(
                    .patch, "/api/v1/members/\(member)", token: admin,
                    body: ["name": "Ada King"]
                ).status == .ok)
            let checkin = try await client.json(
                .post, "/api/v1/checkins", token: admin,
                body: ["member_id": member, "reason": "forgot her card"])
            #expect(checkin.status == .created, "\(checkin.body)")
            // Sent before the erasure (an event still waiting when the member is erased goes without their data).
            _ = try await receiver.wait("three events") { $0.count >= 3 }
            #expect(try await client.json(.delete, "/api/v1/members/\(member)", token: admin).status == .noContent)

            let types = ["member.created", "member.updated", "checkin.recorded", "member.erased"]
            let received = try await receiver.wait("four events") { $0.count >= 4 }
            try await Task.sleep(for: .milliseconds(700))  // nothing more comes
            let all = receiver.received
            #expect(all.map(\.type) == types)
            #expect(Set(all.map(\.eventID)).count == 4)
            #expect(all.allSatisfy { $0.json["id"] as? String == $0.eventID })
            #expect(verified(all, secret: secret))
            #expect(!verified(all, secret: "whsec_another"))
            #expect(
                received[0].data["name"] as? String == "Ada Lovelace"
                    && received[0].data["external_id"] as? String == "crm-1")
            #expect(
                received[2].data["member_id"] as? String == member && received[2].data["method"] as? String == "manual")
            #expect(received[3].data.keys.sorted() == ["external_id", "member_id"])
            // What the outbox kept of her: ids only now.
            let kept = try await TestDatabase.withClient(url) { db in
                try await db.query("SELECT data::text FROM webhook_events", logger: TestDatabase.logger)
                    .collect().map { try $0.decode(String.self) }
            }
            #expect(kept.count == 4 && kept.allSatisfy { !$0.contains("Ada") && !$0.contains("ada@") }, "\(kept)")

            // Ping, the deliveries with their attempts, a redelivery with the same event id.
            let ping = try await client.json(.post, "/api/v1/webhooks/\(endpoint)/ping", token: admin)
            #expect(ping.status == .accepted)
            _ = try await receiver.wait("the ping") { $0.contains { $0.type == "ping" } }
            // The receiver has the ping before the dispatcher has written down its answer.
            let deliveries = try await Self.deliveries(client, endpoint: endpoint, token: admin, within: .seconds(20)) {
                $0.count == 5 && $0.allSatisfy { $0["state"] as? String == "delivered" }
            }
            #expect(deliveries.count == 5 && deliveries.allSatisfy { $0["state"] as? String == "delivered" })
            let history = try #require(deliveries.first?["history"] as? [[String: Any]])
            #expect(history.first?["status_code"] as? Int == 200 && history.first?["duration_ms"] is Int)
            let first = try #require(deliveries.last)
            let again = try await client.json(
                .post, "/api/v1/webhooks/\(endpoint)/deliveries/\(first["id"] as! String)/redeliver", token: admin)
            #expect(again.status == .accepted)
            let redelivered = try await receiver.wait("the redelivery") { $0.count == 6 }
            #expect(redelivered.last?.eventID == first["event_id"] as? String)
            #expect(try await client.json(.post, "/api/v1/webhooks/\(UUID())/ping", token: admin).status == .notFound)
            // A send that outlived its claim settles nothing: a late "try again" leaves the delivery delivered.
            let firstID = try #require(UUID(uuidString: first["id"] as? String ?? ""))
            try await TestDatabase.withClient(url) { db in
                let store = WebhookStore(database: TestDatabase.database(db), logger: TestDatabase.logger)
                let id = firstID
                try await store.record([
                    WebhookStore.SentAttempt(
                        delivery: id, number: 0, statusCode: 500, duration: .milliseconds(3),
                        error: "late \u{0}answer " + String(repeating: "\u{301}", count: 900),
                        result: .retry(at: Date()))
                ])
                let state = try await db.query(
                    "SELECT state FROM webhook_deliveries WHERE id = \(id)",
                    logger: TestDatabase.logger
                ).collect().first?.decode(String.self)
                #expect(state == "delivered")
            }
            // Link-local addresses (cloud metadata) stay refused even where private networks are allowed.
            let metadata = try await client.json(
                .post, "/api/v1/webhooks", token: admin,
                body: ["url": "http://169.254.169.254/latest", "events": ["member.created"]])
            #expect(metadata.status == .badRequest)
            let metadataToo = try await client.json(
                .post, "/api/v1/webhooks", token: admin,
                body: ["url": "http://[fd00:ec2::254]/", "events": ["member.created"]])
            #expect(
                metadataToo.status == .badRequest
                    && (metadataToo.body["detail"] as? String)?.contains("link-local") == true,
                "\(metadataToo.body)")
        }
    }

    @Test(
        "a receiver down (refused, then 500s, then too slow) gets every event once it is back, repeats with the same id"
    )
    func receiverOutage() async throws {
        let receiver = WebhookReceiver(port: TestEnvironment.freePort())  // not listening yet: connections refused
        defer { Task { await receiver.stop() } }
        try await withApplication(Self.adjust) { client, _ in
            let admin = try await client.accessToken()
            let (endpoint, secret) = try await Self.register(client, token: admin, url: receiver.url)
            var members: [String] = []
            for i in 0..<5 {
                let created = try await client.json(
                    .post, "/api/v1/members", token: admin, body: ["name": "Member \(i)"])
                members.append(try #require(created.body["id"] as? String))
            }
            // Refused connections for a while, then a receiver that fails, then one slower than the sender waits.
            try await Task.sleep(for: .seconds(2))
            receiver.set(.failing)
            try await receiver.start()
            _ = try await receiver.wait("a failing attempt") { !$0.isEmpty }
            // Slow until an attempt has met it (retries come at random times: a fixed pause may see none).
            let beforeSlow = receiver.received.count
            receiver.set(.slow(.seconds(7)))
            _ = try await receiver.wait("an attempt answered slowly") { $0.count > beforeSlow }
            receiver.set(.ok)
            let received = try await receiver.wait("every member's event delivered", timeout: .seconds(90)) { all in
                let delivered = Set(all.compactMap { $0.data["member_id"] as? String })
                return delivered.isSuperset(of: members)
            }
            #expect(verified(received, secret: secret))
            // Every repeat is the same event (same id, same body); five events, no more.
            let byID = Dictionary(grouping: received, by: \.eventID)
            #expect(byID.count == 5)
            #expect(byID.values.allSatisfy { Set($0.map(\.body)).count == 1 })
            // The slow answer came after the sender gave up: that delivery goes once more.
            let deliveries = try await Self.deliveries(client, endpoint: endpoint, token: admin, within: .seconds(60)) {
                $0.allSatisfy { $0["state"] as? String == "delivered" }
            }
            #expect(deliveries.count == 5 && deliveries.allSatisfy { $0["state"] as? String == "delivered" })
            #expect(Set(receiver.received.map(\.eventID)).count == 5)
            let errors = Self.errors(of: deliveries)
            #expect(errors.contains { $0.contains("cannot connect") }, "\(errors)")
            #expect(errors.contains { $0.contains("answered 500") }, "\(errors)")
            #expect(errors.contains { $0.contains("no answer in time") }, "\(errors)")
        }
    }

    @Test(
        """
        a rotated secret signs beside the new one during its overlap; a redirect is not followed; an endpoint failing \
        for the whole retry window is disabled with the reason, and enabling it sends what waited
        """)
    func rotationRedirectAndDisabling() async throws {
        let receiver = WebhookReceiver(port: TestEnvironment.freePort())
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        try await withApplication({ configuration in
            Self.adjust(&configuration)
            configuration.webhooks.retryWindow = .seconds(3)
        }) { client, _ in
            let admin = try await client.accessToken()
            let (endpoint, oldSecret) = try await Self.register(
                client, token: admin, url: receiver.url,
                events: ["member.created"])
            let rotated = try await client.json(
                .patch, "/api/v1/webhooks/\(endpoint)", token: admin,
                body: ["rotate_secret": true, "previous_secret_hours": 1])
            let newSecret = try #require(rotated.body["secret"] as? String)
            #expect(newSecret != oldSecret && rotated.body["previous_secret_until"] is String)
            #expect(
                try await client.json(.post, "/api/v1/members", token: admin, body: ["name": "Ada"]).status == .created)
            let signed = try await receiver.wait("the first event") { !$0.isEmpty }
            #expect(verified(signed, secret: oldSecret) && verified(signed, secret: newSecret))

            // A redirect is an answer like any other failure: not followed, retried until the window ends; then the
            // endpoint is disabled, saying why.
            receiver.set(.redirecting)
            #expect(
                try await client.json(.post, "/api/v1/members", token: admin, body: ["name": "Grace"]).status
                    == .created)
            let shown = try await poll(every: .milliseconds(250), within: .seconds(30)) {
                try await client.json(.get, "/api/v1/webhooks/\(endpoint)", token: admin).body
            } until: {
                $0["enabled"] as? Bool == false
            }
            #expect(shown["enabled"] as? Bool == false, "\(shown)")
            let reason = shown["disabled_reason"] as? String ?? ""
            #expect(reason.contains("redirects are not followed") && reason.contains("failed for"), "\(reason)")
            let page = try await client.json(.get, "/api/v1/webhooks/\(endpoint)/deliveries", token: admin)
            #expect((page.body["deliveries"] as? [[String: Any]])?.first?["state"] as? String == "failed")

            // A disabled endpoint gets nothing, and nothing is queued for it meanwhile; enabled again, new events go,
            // and the failed delivery goes when sent again by hand.
            receiver.set(.ok)
            let before = receiver.received.count
            #expect(
                try await client.json(.post, "/api/v1/members", token: admin, body: ["name": "Hedy"]).status == .created
            )
            let enabled = try await client.json(
                .patch, "/api/v1/webhooks/\(endpoint)", token: admin, body: ["enabled": true])
            #expect(enabled.body["enabled"] as? Bool == true && enabled.body["disabled_reason"] == nil)
            #expect(
                try await client.json(.post, "/api/v1/members", token: admin, body: ["name": "Ida"]).status == .created)
            let failed = try #require((page.body["deliveries"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(
                try await client.json(
                    .post, "/api/v1/webhooks/\(endpoint)/deliveries/\(failed)/redeliver",
                    token: admin
                ).status == .accepted)
            let after = try await receiver.wait("Ida's and Grace's events") { all in
                let names = Set(all.dropFirst(before).compactMap { $0.data["name"] as? String })
                return names.isSuperset(of: ["Ida", "Grace"])
            }
            #expect(!after.dropFirst(before).contains { $0.data["name"] as? String == "Hedy" })
        }
    }

    @Test("two instances on one database deliver each event once")
    func twoInstances() async throws {
        let receiver = WebhookReceiver(port: TestEnvironment.freePort())
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        try await withApplication(Self.adjust) { client, url in
            var configuration = try testConfiguration(databaseURL: url)
            Self.adjust(&configuration)
            try await testBounded(try await buildApplication(configuration, recognizers: .testRecognizer)) { second in
                try await untilReady(second)
                let admin = try await client.accessToken()
                _ = try await Self.register(client, token: admin, url: receiver.url, events: ["member.created"])
                let otherAdmin = try await second.accessToken()
                for i in 0..<40 {
                    let (instance, token) = i % 2 == 0 ? (client, admin) : (second, otherAdmin)
                    #expect(
                        try await instance.json(
                            .post, "/api/v1/members", token: token,
                            body: ["name": "Member \(i)"]
                        ).status == .created)
                }
                let received = try await receiver.wait("forty events") { $0.count >= 40 }
                try await Task.sleep(for: .seconds(1))
                #expect(receiver.received.count == 40)
                #expect(Set(received.map(\.eventID)).count == 40)
            }
        }
    }

    @Test(
        """
        under load (engines busy) a dispatcher claims a batch, sends it and records it in one statement: every event \
        once, one attempt each, one member's in order, a failing receiver's retried and recorded with its error
        """)
    func batchesWhileBusy() async throws {
        let receiver = WebhookReceiver(port: TestEnvironment.freePort())
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let logger = TestDatabase.logger
                try await Migrator().migrate(client, logger: logger)
                let organization = UUID()
                try await client.query(
                    "INSERT INTO organizations (id, name) VALUES (\(organization), 'Gym')",
                    logger: logger)
                let store = WebhookStore(database: TestDatabase.database(client), logger: logger)
                _ = try await store.create(
                    organization: organization, url: receiver.url, events: ["member.updated"],
                    description: "", secret: String(repeating: "s", count: 32), actor: nil)
                // A receiver that refuses the connection: its deliveries are tried, recorded, and wait for later.
                let down = try await store.create(
                    organization: organization, url: "http://127.0.0.1:\(TestEnvironment.freePort())/hooks",
                    events: ["member.updated"], description: "", secret: String(repeating: "o", count: 32), actor: nil)
                let member = UUID()
                try await client.query(
                    "INSERT INTO members (id, organization_id, name) VALUES (\(member), \(organization), 'M0')",
                    logger: logger)
                for i in 1...20 {
                    try await client.query("UPDATE members SET name = \("M\(i)") WHERE id = \(member)", logger: logger)
                }
                var settings = WebhookDispatcher.Settings(initialBackoff: .seconds(600))
                settings.busyInterval = .milliseconds(50)
                settings.busyBatch = 8
                let dispatcher = WebhookDispatcher(
                    store: store,
                    sender: try WebhookSender(
                        policy: WebhookAddressPolicy(allowHTTP: true, allowPrivateNetworks: true)),
                    settings: settings, observer: nil, busy: { true }, logger: logger)
                let running = Task { try await dispatcher.run() }
                defer { running.cancel() }
                let received = try await receiver.wait("twenty events") { $0.count >= 20 }
                try await Task.sleep(for: .milliseconds(500))
                running.cancel()
                #expect(receiver.received.count == 20)
                // In the order of the changes (one member's events go one after the other, batches or not).
                let names = received.compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any]
                }
                .compactMap { ($0["data"] as? [String: Any])?["name"] as? String }
                #expect(names == (1...20).map { "M\($0)" })
                let rows = try await client.query(
                    """
                    SELECT d.endpoint_id = \(down.id), d.state, d.attempts,
                           (SELECT count(*) FROM webhook_delivery_attempts a WHERE a.delivery_id = d.id),
                           d.last_error IS NOT NULL
                    FROM webhook_deliveries d
                    """, logger: logger
                ).collect().map { try $0.decode((Bool, String, Int, Int, Bool).self) }
                let delivered = rows.filter { !$0.0 }, failing = rows.filter { $0.0 }
                #expect(delivered.count == 20 && delivered.allSatisfy { $0.1 == "delivered" && $0.2 == 1 && $0.3 == 1 })
                // Only the first of the member's events was tried at the receiver that is down (the rest wait behind it).
                #expect(failing.count == 20)
                #expect(failing.filter { $0.2 == 1 }.count == 1 && failing.allSatisfy { $0.1 == "pending" })
                #expect(failing.filter { $0.3 == 1 && $0.4 }.count == 1)
            }
        }
    }

    @Test(
        "URLs: https only unless allowed, no private or loopback address unless allowed, known events only; admins only"
    )
    func refusedURLs() async throws {
        try await withApplication { client, _ in
            let admin = try await client.accessToken()
            for (url, why) in [
                ("http://example.com/hook", "https"), ("https://127.0.0.1/hook", "private"),
                ("https://10.1.2.3/hook", "private"), ("https://169.254.169.254/latest", "private"),
                ("https://[::1]/hook", "private"), ("https://[::ffff:192.168.0.1]/hook", "private"),
                ("https://[64:ff9b::a00:1]/hook", "private"), ("https://[2002:a00:1::1]/hook", "private"),
                ("https://[fe80::1]/hook", "private"), ("https://[fd12::1]/hook", "private"),
                ("https://user:pw@example.com/hook", "credentials"), ("ftp://example.com", "https"),
            ] {
                let answer = try await client.json(
                    .post, "/api/v1/webhooks", token: admin,
                    body: ["url": url, "events": ["checkin.recorded"]])
                #expect(
                    answer.status == .badRequest && answer.body["code"] as? String == "invalid_field",
                    "\(url): \(answer.body)")
                #expect((answer.body["detail"] as? String)?.contains(why) == true, "\(url): \(answer.body)")
            }
            let unknown = try await client.json(
                .post, "/api/v1/webhooks", token: admin,
                body: ["url": "https://example.com/hook", "events": ["member.eaten"]])
            #expect(unknown.status == .badRequest)
            // A name that resolves to loopback is refused when connecting (after DNS), not only when registered.
            let (endpoint, _) = try await Self.register(
                client, token: admin, url: "https://localhost:9/hook",
                events: ["member.created"])
            #expect(
                try await client.json(.post, "/api/v1/members", token: admin, body: ["name": "Grace"]).status
                    == .created)
            let errors = Self.errors(
                of: try await Self.deliveries(client, endpoint: endpoint, token: admin, within: .seconds(20)) {
                    !Self.errors(of: $0).isEmpty
                })
            #expect(errors.first?.contains("loopback, private") == true, "\(errors)")
            // Operators and kiosks have no say over webhooks.
            let operatorAnswer = try await client.json(
                .post, "/api/v1/users", token: admin,
                body: [
                    "username": "op-hooks", "password": "correct horse battery staple", "role": "operator",
                ])
            #expect(operatorAnswer.status == .created)
            let operatorToken = try await client.accessToken(username: "op-hooks")
            #expect(try await client.json(.get, "/api/v1/webhooks", token: operatorToken).status == .forbidden)
        }
    }

    /// A photo the test recognizer finds one large, sharp face in (a texture: the same bytes, the same embedding).
    static func photo(_ seed: UInt8) -> [UInt8] {
        let (width, height) = (200, 200)
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [
                    UInt8(truncatingIfNeeded: x * 7 ^ y * 13) &+ seed, UInt8(truncatingIfNeeded: x * y), seed &* 3,
                ]
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels).pngData()
    }

    /// An endpoint's deliveries, read again every 200 ms until `condition` holds for them or `within` has passed (then
    /// the last read: the caller's expectations say what was wrong).
    static func deliveries(
        _ client: any TestClientProtocol, endpoint: String, token: String, within: Duration,
        until condition: ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        try await poll(within: within) {
            try #require(
                try await client.json(.get, "/api/v1/webhooks/\(endpoint)/deliveries", token: token)
                    .body["deliveries"] as? [[String: Any]])
        } until: {
            condition($0)
        }
    }

    /// The errors of every attempt in `deliveries`' histories.
    static func errors(of deliveries: [[String: Any]]) -> [String] {
        deliveries.flatMap { ($0["history"] as? [[String: Any]] ?? []).compactMap { $0["error"] as? String } }
    }

    static func post(_ client: any TestClientProtocol, _ uri: String, token: String, png: [UInt8]) async throws
        -> (status: HTTPResponse.Status, body: [String: Any])
    {
        try await client.execute(
            uri: uri, method: .post,
            headers: [.authorization: "Bearer \(token)", .contentType: "image/png"],
            body: ByteBuffer(bytes: png)
        ) { response in
            (
                response.status,
                (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
            )
        }
    }

    @Test(
        """
        the validation call: a 403's message refuses the recognised member (nothing checked in, on the attempt record), \
        a 2xx admits, a timeout follows CHECKIN_VALIDATION_ON_ERROR; its requests are signed with the organisation's secret
        """)
    func validationCall() async throws {
        let receiver = WebhookReceiver(port: TestEnvironment.freePort())
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        for admitOnError in [false, true] {
            try await withApplication({ configuration in
                Self.adjust(&configuration)
                configuration.webhooks.validationAdmitsOnError = admitOnError
                // Long enough for a loaded CI machine to answer the 403 in time; the slow receiver waits twice as long.
                configuration.webhooks.validationTimeout = .seconds(3)
            }) { client, _ in
                let admin = try await client.accessToken()
                let organization = try #require(
                    try await client.json(.get, "/api/v1/auth/me", token: admin).body["organization_id"] as? String)
                let set = try await client.json(
                    .patch, "/api/v1/organizations/\(organization)", token: admin,
                    body: ["checkin_validation_url": receiver.url])
                #expect(
                    set.status == .ok && set.body["checkin_validation_url"] as? String == receiver.url, "\(set.body)")
                let secret = try #require(set.body["checkin_validation_secret"] as? String)
                #expect(
                    try await client.json(.get, "/api/v1/organizations/\(organization)", token: admin)
                        .body["checkin_validation_secret"] == nil)
                let member = try #require(
                    try await client.json(
                        .post, "/api/v1/members", token: admin,
                        body: ["name": "Grace Hopper"]
                    ).body["id"] as? String)
                let face = Self.photo(7)
                let enrolled = try await Self.post(client, "/api/v1/members/\(member)/faces", token: admin, png: face)
                try #require(enrolled.status == .created, "\(enrolled.body)")

                let before = receiver.received.count
                receiver.set(.refusing("Your fee is overdue: please see the desk"))
                let refused = try await Self.post(client, "/api/v1/checkins", token: admin, png: face)
                #expect(
                    refused.status == .forbidden && refused.body["code"] as? String == "checkin_refused_by_validator")
                #expect(
                    refused.body["detail"] as? String == "Your fee is overdue: please see the desk", "\(refused.body)")
                let asked = try #require(receiver.received.dropFirst(before).first)
                #expect(asked.type == "checkin.validation" && asked.data["name"] as? String == "Grace Hopper")
                #expect(verified([asked], secret: secret))

                receiver.set(.slow(.seconds(6)))
                let slow = try await Self.post(client, "/api/v1/checkins", token: admin, png: face)
                if admitOnError {
                    #expect(slow.status == .created, "\(slow.body)")
                } else {
                    #expect(slow.status == .forbidden && slow.body["code"] as? String == "checkin_refused_by_validator")
                    receiver.set(.ok)
                    #expect(try await Self.post(client, "/api/v1/checkins", token: admin, png: face).status == .created)
                }
                let attempts = try await client.json(.get, "/api/v1/checkins/attempts", token: admin)
                let outcomes = (attempts.body["attempts"] as? [[String: Any]] ?? []).map { $0["outcome"] as? String }
                #expect(
                    outcomes == ["checked_in", "checkin_refused_by_validator"]
                        + (admitOnError ? [] : ["checkin_refused_by_validator"]).reversed(), "\(outcomes)")
                let reasons = (attempts.body["attempts"] as? [[String: Any]] ?? []).compactMap {
                    $0["reason"] as? String
                }
                #expect(reasons.contains("Your fee is overdue: please see the desk"))
                #expect(reasons.contains { $0.contains("no answer in time") }, "\(reasons)")
                let removed = try await client.json(
                    .patch, "/api/v1/organizations/\(organization)", token: admin,
                    body: ["checkin_validation_url": NSNull()])
                #expect(removed.status == .ok && removed.body["checkin_validation_url"] is NSNull)
            }
        }
    }
}
