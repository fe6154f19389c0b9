"""Authentication and isolation against a running `facegate serve`: bad tokens are 401, sessions end when they
should, roles hold, one organisation cannot see, touch or detect another's members and faces, and logins can be
neither brute-forced nor used to find out which usernames exist."""

import base64
import hashlib
import hmac
import json
import os
import statistics
import time
import uuid

import pytest

from conftest import requires_faces
from facegate_service import PASSWORD, photo


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(header, payload, secret):
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + b64url(signature)


def photo_or_nothing():
    try:
        return photo("face_recognition/obama/obama2.jpg")
    except OSError:
        return b"\xff\xd8"


def claims(token):
    return json.loads(unb64url(token.split(".")[1]))


def refused(response, code="invalid_token"):
    return (response.status == 401 and response.code == code
            and response.headers.get("www-authenticate", "").startswith("Bearer"))


@pytest.fixture(scope="module")
def two_orgs(service):
    """Organisations A and B, each with a member who has a face, and a check-in by B's member at B."""
    orgs = {}
    for name, person, enrol_photo in [("Org A", "Barack Obama", "face_recognition/obama/obama.jpg"),
                                      ("Org B", "Joe Biden", "face_recognition/biden/biden.jpg")]:
        org, tokens = service.organization(name, liveness="off")  # their kiosks post single photos
        member = service.member(tokens["admin"], person, external_id="same-id")
        response = service.enrol(tokens["admin"], member, photo(enrol_photo))
        assert response.status == 201, response.body
        orgs[name[-1]] = {"id": org, "tokens": tokens, "member": member, "face": response.json()["face_id"]}
    return orgs


def test_bad_tokens_are_401(service):
    root = service.login()
    access, refresh = root["access_token"], root["refresh_token"]
    header, payload, signature = access.split(".")
    expired = dict(claims(access), exp=time.time() - 60, iat=time.time() - 1000)
    forged_role = dict(claims(access), role="admin", org=str(uuid.uuid4()))
    cases = {
        "expired": sign({"alg": "HS256", "typ": "JWT"}, expired, service.secret_key),
        "tampered": header + "." + b64url(json.dumps(forged_role).encode()) + "." + signature,
        "alg none": b64url(b'{"alg":"none","typ":"JWT"}') + "." + payload + ".",
        "alg none, signature kept": b64url(b'{"alg":"none","typ":"JWT"}') + "." + payload + "." + signature,
        "HS512 header": sign({"alg": "HS512", "typ": "JWT"}, claims(access), service.secret_key),
        "wrong secret": sign({"alg": "HS256", "typ": "JWT"}, claims(access), "x" * 48),
        "refresh as access": refresh,
        "garbage": "garbage",
        "empty parts": "..",
        "unknown user": sign({"alg": "HS256", "typ": "JWT"}, dict(claims(access), sub=str(uuid.uuid4())),
                             service.secret_key),
    }
    for name, token in cases.items():
        response = service.api("GET", "/auth/me", token=token)
        assert refused(response), f"{name}: {response.status} {response.body[:200]!r}"
    for header_value in ["", "Bearer", "Bearer ", "Basic cm9vdDpwYXNz", "bearer"]:
        response = service.api("GET", "/auth/me", headers={"Authorization": header_value})
        assert response.status == 401 and response.code in ("missing_token", "invalid_token"), header_value
    assert service.api("GET", "/auth/me", token=access).status == 200
    print(f"\n{len(cases) + 5} bad tokens and headers refused with 401")


def test_refresh_reuse_revokes_the_family_and_logout_ends_the_session(services):
    # No grace for a lost answer here: the reuse is the subject (AuthTests covers the grace).
    service = services.start(env={"REFRESH_REUSE_GRACE_SECONDS": 0})
    first = service.login()
    rotated = service.api("POST", "/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert rotated.status == 200
    second = rotated.json()
    assert service.api("GET", "/auth/me", token=second["access_token"]).status == 200
    # The used refresh token again: someone copied it. The whole session ends.
    assert service.api("POST", "/auth/refresh", {"refresh_token": first["refresh_token"]}).status == 401
    assert service.api("POST", "/auth/refresh", {"refresh_token": second["refresh_token"]}).status == 401
    assert refused(service.api("GET", "/auth/me", token=second["access_token"]))
    # Logout ends a session at once.
    third = service.login()
    assert service.api("POST", "/auth/logout", token=third["access_token"]).status == 204
    assert refused(service.api("GET", "/auth/me", token=third["access_token"]))
    assert service.api("POST", "/auth/refresh", {"refresh_token": third["refresh_token"]}).status == 401


def test_disabled_and_deleted_staff_are_cut_off_on_the_next_request(service):
    org, tokens = service.organization("Cutoff Club", roles=("admin", "operator", "kiosk"))
    operator = service.login("cutoff-club-operator")
    me = service.api("GET", "/auth/me", token=operator["access_token"]).json()
    response = service.api("PATCH", f"/users/{me['id']}", {"disabled": True}, tokens["admin"])
    assert response.status == 200, response.body
    assert refused(service.api("GET", "/members", token=operator["access_token"]))
    assert service.api("POST", "/auth/refresh", {"refresh_token": operator["refresh_token"]}).status == 401
    response = service.api("POST", "/auth/login", {"username": "cutoff-club-operator", "password": PASSWORD})
    assert response.status == 401 and response.code == "invalid_credentials"
    # Deleted: the same.
    kiosk = service.api("GET", "/auth/me", token=tokens["kiosk"]).json()
    assert service.api("DELETE", f"/users/{kiosk['id']}", token=tokens["admin"]).status == 204
    assert refused(service.api("POST", "/checkins", photo_or_nothing(), tokens["kiosk"],
                               headers={"Content-Type": "image/jpeg"}))


def test_roles_hold(service, two_orgs):
    a = two_orgs["A"]
    operator, kiosk = a["tokens"]["operator"], a["tokens"]["kiosk"]
    member = a["member"]
    admin_only = [("GET", "/users"), ("POST", "/users"), ("GET", "/organizations"), ("POST", "/organizations"),
                  ("GET", f"/members/{member}/export")]
    staff_only = [("GET", "/checkins/export"), ("GET", "/members"), ("POST", "/members"), ("GET", f"/members/{member}"),
                  ("PATCH", f"/members/{member}"), ("DELETE", f"/members/{member}"), ("GET", f"/members/{member}/faces"),
                  ("POST", f"/members/{member}/faces"), ("DELETE", f"/members/{member}/faces/{a['face']}"),
                  ("GET", f"/members/{member}/faces/{a['face']}/thumbnail")]
    tried = 0
    for method, path in admin_only:
        for token in (operator, kiosk):
            response = service.api(method, path, {"name": "x", "username": "x", "password": "x" * 12, "role": "admin"},
                                   token)
            assert response.status == 403 and response.code == "forbidden", (method, path, response.status)
            tried += 1
    for method, path in staff_only:
        response = service.api(method, path, {"name": "x"}, kiosk)
        assert response.status == 403 and response.code == "forbidden", (method, path, response.status)
        tried += 1
    # An operator manages members but may not make anyone an admin, nor reach another organisation's users.
    assert service.api("GET", "/members", token=operator).status == 200
    # The member and face are still there.
    assert service.api("GET", f"/members/{member}", token=a["tokens"]["admin"]).json()["face_count"] == 1
    print(f"\n{tried} role-forbidden calls refused with 403")


@requires_faces
def test_organisations_cannot_see_each_other(service, two_orgs):
    a, b = two_orgs["A"], two_orgs["B"]
    token = a["tokens"]["admin"]
    nobody = str(uuid.uuid4())

    def same_as_unknown(method, path_for, body=None, headers=None):
        """The answer for B's id equals the answer for an id that exists nowhere: status, code and detail."""
        theirs = service.api(method, path_for(b), body, token, headers=headers)
        unknown = service.api(method, path_for({"member": nobody, "face": nobody}), body, token, headers=headers)
        assert theirs.status == 404 and theirs.code == unknown.code, (path_for(b), theirs.status, theirs.body)
        assert theirs.json()["detail"] == unknown.json()["detail"], (theirs.body, unknown.body)

    jpeg = {"Content-Type": "image/jpeg"}
    biden = photo("face_recognition/biden/biden.jpg")
    cases = [
        ("GET", lambda o: f"/members/{o['member']}", None, None),
        ("PATCH", lambda o: f"/members/{o['member']}", {"name": "Taken Over"}, None),
        ("DELETE", lambda o: f"/members/{o['member']}", None, None),
        ("GET", lambda o: f"/members/{o['member']}/faces", None, None),
        ("POST", lambda o: f"/members/{o['member']}/faces", photo("face_recognition/obama/obama2.jpg"), jpeg),
        ("DELETE", lambda o: f"/members/{o['member']}/faces/{o['face']}", None, None),
        ("GET", lambda o: f"/members/{o['member']}/faces/{o['face']}/thumbnail", None, None),
        ("DELETE", lambda o: f"/members/{a['member']}/faces/{o['face']}", None, None),
        ("POST", lambda o: f"/members/{o['member']}/verify", biden, jpeg),
        ("GET", lambda o: f"/members/{o['member']}/export", None, None),
    ]
    for method, path_for, body, headers in cases:
        same_as_unknown(method, path_for, body, headers)
    # B's member's photo finds nobody at A (A has only Obama); A's lists never show B's people or check-ins.
    response = service.api("POST", "/identify", biden, token, headers=jpeg)
    assert response.status == 200 and all(m["member"]["id"] != b["member"] for m in response.json()["matches"])
    response = service.api("POST", "/checkins", biden, token, headers=jpeg)
    assert response.status == 404 and response.code == "no_match", response.body
    response = service.api("POST", "/checkins", biden, b["tokens"]["kiosk"], headers=jpeg)
    assert response.status == 201, response.body
    listed = service.api("GET", "/members?q=Biden", token=token).json()
    assert listed["members"] == [], listed
    checkins = service.api("GET", "/checkins", token=token).json()
    assert all(c["member"]["id"] != b["member"] for c in checkins["checkins"]), checkins
    theirs = service.api("GET", f"/checkins?member_id={b['member']}", token=token)
    assert theirs.status in (200, 404) and not (theirs.json().get("checkins")), theirs.body
    exported = service.api("GET", "/checkins/export", token=token)
    assert exported.status == 200 and b["member"].encode() not in exported.body, exported.body
    # The same external_id in both organisations is no conflict and no leak.
    assert service.api("POST", "/members", {"name": "Dup", "external_id": "same-id"}, token).status == 409
    # Users of B are not A's to read, change or delete.
    b_admin = service.api("GET", "/auth/me", token=b["tokens"]["admin"]).json()["id"]
    for method, body in [("GET", None), ("PATCH", {"disabled": True}), ("DELETE", None)]:
        response = service.api(method, f"/users/{b_admin}", body, token)
        assert response.status == 404, (method, response.status, response.body)
    users = service.api("GET", "/users", token=token).json()
    assert all(u["id"] != b_admin for u in users["users"])
    response = service.api("POST", "/users", {"username": "intruder", "password": PASSWORD, "role": "admin",
                                              "organization_id": b["id"]}, token)
    assert response.status in (403, 404), response.body
    # B is untouched.
    shown = service.api("GET", f"/members/{b['member']}", token=b["tokens"]["admin"]).json()
    assert shown["name"] == "Joe Biden" and shown["face_count"] == 1
    assert service.api("GET", "/auth/me", token=b["tokens"]["admin"]).status == 200
    print(f"\n{len(cases) + 10} cross-organisation attempts: B's ids answered exactly like ids that do not exist")


def test_login_brute_force_is_limited_without_locking_the_owner_out(services):
    service = services.start(env={"LOGIN_RATE_LIMIT_PER_MINUTE": 3})
    root = service.token()
    for name in ("alice", "bob"):
        assert service.api("POST", "/users", {"username": name, "password": PASSWORD, "role": "admin",
                                              "organization_id": service.api("POST", "/organizations", {"name": name},
                                                                              root).json()["id"]}, root).status == 201

    def attempt(username, source, password="wrong password!"):
        return service.api("POST", "/auth/login", {"username": username, "password": password}, source=source)

    statuses = [attempt("alice", "127.0.0.2").status for _ in range(5)]
    assert statuses[:3] == [401] * 3 and statuses[3:] == [429, 429], statuses
    limited = attempt("bob", "127.0.0.2")  # same address, another username
    assert limited.status == 429 and limited.code == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    # Failures from one address do not keep the account's owner out, nor slow other addresses down.
    assert attempt("alice", "127.0.0.3").status == 401
    assert attempt("alice", "127.0.0.5", password=PASSWORD).status == 200
    # Guessing spread over many addresses meets the username's own limit (ten times the per-address one).
    spread = [attempt("bob", f"127.0.1.{i}").status for i in range(1, 16) for _ in range(3)]
    assert spread.count(429) >= 1 and attempt("bob", "127.0.0.9", password=PASSWORD).status == 429, spread


def test_the_username_limit_is_the_accounts_whatever_the_spelling(services):
    """PostgreSQL's lower() folds `İ` to `i` where Swift writes `i̇`, so `secrev-İvİ` signs in as `secrev-ivi`. The limit
    per username from all addresses is the limit of the account the database matched: spellings share it, instead of
    each getting a bucket of its own (2^k times the limit for a name with k letters `i`)."""
    service = services.start(env={"LOGIN_RATE_LIMIT_PER_MINUTE": 3})
    root = service.token()
    response = service.api("POST", "/users", {"username": "secrev-ivi", "password": PASSWORD, "role": "operator"}, root)
    assert response.status == 201, response.body

    def attempt(username, source, password="wrong password!"):
        return service.api("POST", "/auth/login", {"username": username, "password": password}, source=source).status

    if attempt("secrev-İvİ", "127.0.0.8", password=PASSWORD) != 200:
        pytest.skip("this cluster's lower() does not fold İ to i: no spelling reaches the account")
    spellings = ["secrev-ivi", "secrev-İvi", "secrev-ivİ", "secrev-İvİ"]
    # Three attempts from each of 15 addresses (the per-address limit), the spellings taking turns: 45 attempts
    # against the account's 30 a minute.
    spread = [attempt(spellings[(i + j) % 4], f"127.0.3.{i}") for i in range(1, 16) for j in range(3)]
    assert spread.count(429) >= 1, spread
    assert attempt("SECREV-IVI", "127.0.0.10", password=PASSWORD) == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(services):
    """TRUSTED_PROXIES names the proxy (127.0.0.1 here): its X-Forwarded-For / Forwarded name the client, the right-most
    address that is not a trusted proxy; from any other peer those headers are ignored."""
    service = services.start(env={"LOGIN_RATE_LIMIT_PER_MINUTE": 2, "TRUSTED_PROXIES": "127.0.0.1/32"})

    def attempt(headers, source="127.0.0.1"):
        return service.api("POST", "/auth/login", {"username": "nobody", "password": "wrong password!"},
                           headers=headers, source=source).status

    client_a = {"X-Forwarded-For": "203.0.113.7"}
    assert [attempt(client_a) for _ in range(3)] == [401, 401, 429]
    # Another client behind the same proxy has its own limit, a spoofed address on the left changes nothing.
    assert attempt({"X-Forwarded-For": "203.0.113.8"}) == 401
    assert attempt({"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}) == 429
    # IPv6 clients share a limit per /64; a Forwarded header (which this proxy does not write) changes nothing.
    assert attempt({"X-Forwarded-For": "2001:db8:1:2::5", "Forwarded": "for=192.0.2.99"}) == 401
    assert attempt({"X-Forwarded-For": "2001:db8:1:2::6", "Forwarded": "for=192.0.2.98"}) == 401
    assert attempt({"X-Forwarded-For": "2001:db8:1:2::7"}) == 429  # the same /64
    # An untrusted peer's headers are its own words: it is limited as itself.
    assert [attempt({"X-Forwarded-For": f"192.0.2.{i}"}, source="127.0.0.4") for i in range(3)] == [401, 401, 429]


def test_forwarding_headers_without_trusted_proxies_are_warned_about_once(services):
    """X-Forwarded-For (or Forwarded) reaching a service with TRUSTED_PROXIES unset means a proxy in front that is not
    named: every client would share its limits. The service says so in its log, once, and still limits by the peer."""
    service = services.start(env={"LOGIN_RATE_LIMIT_PER_MINUTE": 2})
    logged_before = os.path.getsize(service.log_path)  # the log file is appended to: read what this test adds
    statuses = [service.api("POST", "/auth/login", {"username": "nobody", "password": "wrong password!"},
                            headers={"X-Forwarded-For": f"203.0.113.{i}"}, source="127.0.0.6").status
                for i in range(3)]
    assert statuses == [401, 401, 429], statuses
    assert service.request("GET", "/health", headers={"Forwarded": "for=192.0.2.1"}).status == 200
    with open(service.log_path, "rb") as log:
        log.seek(logged_before)
        added = log.read().decode(errors="replace")
    warnings = [line for line in added.splitlines() if "TRUSTED_PROXIES is unset" in line]
    assert len(warnings) == 1, warnings


def test_login_time_does_not_reveal_whether_a_username_exists(service):
    service.login()  # warm up
    known, unknown = [], []
    for i in range(15):
        for username, times in (("root", known), (f"nobody-{i}", unknown)):
            response = service.api("POST", "/auth/login", {"username": username, "password": "wrong password!"})
            assert response.status == 401 and response.code == "invalid_credentials"
            times.append(response.seconds)
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    ratio = unknown_median / known_median
    print(f"\nlogin medians: known user {known_median * 1000:.0f} ms, unknown {unknown_median * 1000:.0f} ms "
          f"(ratio {ratio:.2f}, 15 each, alternating)")
    assert 0.75 < ratio < 1.33, (known_median, unknown_median)
