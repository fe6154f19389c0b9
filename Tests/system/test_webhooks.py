"""Webhooks as a deployment sees them: `facegate serve` killed with SIGKILL after its changes committed and before
their events were sent loses none of them — the next instance on the database sends every one, signed, each event
under its one id; and the receiver's outage in between changes nothing of that."""

import hashlib
import hmac
import http.server
import json
import threading
import time


class Receiver:
    """A real HTTP receiver: answers 503 until `up` is set, then 200; records every request."""

    def __init__(self):
        self.up = False
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.requests.append((dict(self.headers), body, owner.up))
                self.send_response(200 if owner.up else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def accepted(self):
        return [(headers, json.loads(body), body) for headers, body, up in self.requests if up]


def signed(headers, body, secret):
    parts = dict(part.split("=", 1) for part in headers["Facegate-Signature"].split(",") if part.startswith("t="))
    signatures = [part[3:] for part in headers["Facegate-Signature"].split(",") if part.startswith("v1=")]
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


def test_a_killed_instance_loses_no_committed_event(services):
    receiver = Receiver()
    env = {"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "WEBHOOK_RETRY_INITIAL_SECONDS": "1"}
    first = services.start(env=env)
    org, tokens = first.organization("Outbox Gym", roles=("admin",))
    admin = tokens["admin"]
    created = first.api("POST", "/webhooks", {"url": receiver.url, "events": ["member.created"]}, admin)
    assert created.status == 201, created.body
    secret = created.json()["secret"]
    members = [first.member(admin, f"Member {i}") for i in range(20)]
    # Committed; the receiver is down (503): nothing delivered yet. Then the process dies without a word.
    first.kill()
    assert receiver.accepted() == []

    receiver.up = True
    second = services.start(env=env, database_url=first.database_url)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if {event["data"]["member_id"] for _, event, _ in receiver.accepted()} >= set(members):
            break
        time.sleep(0.2)
    accepted = receiver.accepted()
    assert {event["data"]["member_id"] for _, event, _ in accepted} == set(members), len(accepted)
    assert all(signed(headers, body, secret) for headers, _, body in accepted)
    # At least once, never invented: one id per member, a repeat only ever the same event.
    by_id = {}
    for _, event, body in accepted:
        by_id.setdefault(event["id"], set()).add(body)
    assert len(by_id) == 20 and all(len(bodies) == 1 for bodies in by_id.values())
    assert all(event["type"] == "member.created" and event["organization_id"] == org for _, event, _ in accepted)
    second.stop()
    receiver.server.shutdown()
