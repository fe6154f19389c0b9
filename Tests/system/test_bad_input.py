"""Bad input against a running `facegate serve`: every case is a 4xx problem+json with a stable code (never a 5xx),
the process keeps serving, nothing is written by a refused request, and memory comes back to where it was."""

import base64
import json
import os
import socket
import struct
import threading
import time
import urllib.parse
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import requires_faces
from facegate_service import faces_root, photo, psql

pytestmark = requires_faces

BAD_FOLDERS = ["edge_cases", "compreface/invalid", "compreface/formats"]
RAW_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
# Internal detail that must never reach a response body.
LEAKS = ["PSQLError", "Swift.", "Fatal error", "Foundation.", "DecodingError", "at /", ".swift:"]


def bad_files():
    root = faces_root()
    found = []
    for folder in BAD_FOLDERS:
        for directory, _, names in os.walk(os.path.join(root, folder)):
            found += [os.path.relpath(os.path.join(directory, n), root) for n in sorted(names) if n != "manifest.csv"]
    return sorted(found)


def multipart(parts, boundary="facegate-test-boundary"):
    """A multipart/form-data body of (name, filename, bytes) parts; its content type and bytes."""
    body = b""
    for name, filename, data in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                 f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    return f"multipart/form-data; boundary={boundary}", body + f"--{boundary}--\r\n".encode()


def body_styles(data, filename):
    """The three ways a photo may be sent: raw (typed by the file's extension, or wrongly as JPEG), multipart, JSON."""
    extension = os.path.splitext(filename)[1].lower()
    content_type, form = multipart([("image", os.path.basename(filename), data)])
    return {
        "raw": ({"Content-Type": RAW_TYPES.get(extension, "image/jpeg")}, data),
        "multipart": ({"Content-Type": content_type}, form),
        "base64": ({"Content-Type": "application/json"},
                   json.dumps({"image_base64": base64.b64encode(data).decode()}).encode()),
    }


def check_refusal(response, case):
    """A refusal: 4xx problem+json with a code, and no internal detail; returns the code."""
    assert response.status < 500, f"{case}: {response.status} {response.body[:300]!r}"
    if response.status >= 400:
        assert response.headers.get("content-type") == "application/problem+json", case
        body = response.json()
        assert body and body.get("code") and body.get("status") == response.status, f"{case}: {response.body[:300]!r}"
        text = response.body.decode("utf-8", "replace")
        assert not any(leak in text for leak in LEAKS), f"{case}: internal detail leaked: {text}"
        return body["code"]
    return None


@pytest.fixture(scope="module")
def org(service):
    """An organisation with Barack Obama enrolled (so verify and check-in have someone to compare with)."""
    org, tokens = service.organization("Bad Input Gym")
    member = service.member(tokens["admin"], "Barack Obama")
    response = service.enrol(tokens["admin"], member, photo("face_recognition/obama/obama.jpg"))
    assert response.status == 201, response.body
    return {"id": org, "tokens": tokens, "member": member}


def image_endpoints(org, enrol_member):
    """Every endpoint that takes a photo: its path."""
    return {
        "enrol": f"/members/{enrol_member}/faces",
        "identify": "/identify",
        "checkin": "/checkins",
        "verify": f"/members/{org['member']}/verify",
        "detect": "/detect",
    }


def test_every_bad_file_to_every_image_endpoint_in_every_body_style(service, org, record_property):
    token = org["tokens"]["admin"]
    files = bad_files()
    assert len(files) >= 40, files
    # Enrolments go to an organisation per body style and a member per photo, so that a face enrolled in one style
    # is not refused in the next as a duplicate or as another member's face.
    enrol_tokens = {style: service.organization(f"Enrol {style}", roles=("admin",))[1]["admin"]
                    for style in ("raw", "multipart", "base64")}
    cases = []
    for path in files:
        data = photo(path)
        for style, (headers, body) in body_styles(data, path).items():
            member = service.member(enrol_tokens[style], path)
            for endpoint, url in image_endpoints(org, member).items():
                cases.append((path, style, endpoint, url, headers, body,
                              enrol_tokens[style] if endpoint == "enrol" else token))

    # The baseline: the process after ordinary traffic (every photo of face_recognition's examples, up to 12 MP).
    for directory, _, names in os.walk(os.path.join(faces_root(), "face_recognition")):
        for name in sorted(n for n in names if n.endswith((".jpg", ".png"))):
            with open(os.path.join(directory, name), "rb") as f:
                data = f.read()
            if len(data) < 10 * 2**20:
                service.api_patiently("POST", "/detect", data, token, headers={"Content-Type": RAW_TYPES[name[-4:]]})
    time.sleep(2)
    baseline = service.resident_bytes()

    def send(case):
        path, style, endpoint, url, headers, body, caller = case
        response = service.api_patiently("POST", url, body, caller, headers=headers, timeout=120)
        return case, response

    outcomes = {}
    with ThreadPoolExecutor(3) as pool:
        for (path, style, endpoint, *_), response in pool.map(send, cases):
            code = check_refusal(response, f"{path} {style} {endpoint}")
            outcomes[(path, endpoint, style)] = (response.status, code)
    time.sleep(2)  # idle: the engines give freed memory back
    after = service.resident_bytes()

    # The body style never changes the answer.
    for path in files:
        for endpoint in ("enrol", "identify", "checkin", "verify", "detect"):
            answers = {style: outcomes[(path, endpoint, style)] for style in ("raw", "multipart", "base64")}
            assert len(set(answers.values())) == 1, f"{path} {endpoint}: {answers}"

    statuses = {}
    for status, code in outcomes.values():
        statuses[f"{status} {code or ''}".strip()] = statuses.get(f"{status} {code or ''}".strip(), 0) + 1
    record_property("cases", len(cases))
    record_property("answers", json.dumps(statuses, sort_keys=True))
    record_property("rss_mb", f"{baseline / 2**20:.0f} -> {after / 2**20:.0f}")
    print(f"\n{len(cases)} cases ({len(files)} files x 5 endpoints x 3 body styles): {statuses}; "
          f"RSS {baseline / 2**20:.0f} -> {after / 2**20:.0f} MB")
    assert service.request("GET", "/health").status == 200
    # Measured 151 -> 244 MB here; what stays is bounded (see the repeated rounds below), not a leak.
    assert after - baseline < 160 * 2**20, f"RSS {baseline / 2**20:.0f} -> {after / 2**20:.0f} MB"


def raw_exchange(port, head, chunks=(), pause=0.0, read_timeout=20, shutdown=False):
    """Sends `head` then `chunks` (pausing between them) on a raw socket; returns whatever the server answered
    (b"" when it just closed) — the server may answer and close before everything is sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        try:
            s.sendall(head)
            for chunk in chunks:
                s.sendall(chunk)
                if pause:
                    time.sleep(pause)
            if shutdown:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while not complete(answer):
                data = s.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, socket.timeout):
            pass
        return answer


def complete(answer):
    """Whether `answer` holds a whole response (headers and the body of its Content-Length)."""
    head, separator, body = answer.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


def request_head(path, token, content_type, length):
    return (f"POST /api/v1{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n").encode()


def status_of(answer):
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def test_truncated_and_oversized_slow_bodies(service, org):
    token = org["tokens"]["admin"]
    jpeg = photo("face_recognition/obama/obama2.jpg")
    # The body ends (client half-closes) before Content-Length: refused or dropped, never a 5xx; then still serving.
    for path in ("/detect", "/checkins", f"/members/{org['member']}/faces"):
        answer = raw_exchange(service.port, request_head(path, token, "image/jpeg", len(jpeg)), [jpeg[:len(jpeg) // 2]],
                              shutdown=True)
        assert status_of(answer) in (None, 400, 408, 413), answer[:200]
        # The client vanishes mid-body.
        raw_exchange(service.port, request_head(path, token, "image/jpeg", len(jpeg)), [jpeg[:1000]], read_timeout=0.5)
    # 12 MiB declared and sent slowly in 256 KiB steps: refused as too large once past the 10 MiB limit.
    limit = 10 * 2**20
    started = time.monotonic()
    answer = raw_exchange(service.port, request_head("/detect", token, "image/jpeg", 12 * 2**20),
                          [b"\xff" * 2**18] * 48, pause=0.02)
    assert status_of(answer) == 413 and b"image_too_large" in answer, answer[:300]
    print(f"\noversized slow body refused after {time.monotonic() - started:.1f} s (limit {limit} bytes)")
    assert service.request("GET", "/health").status == 200
    response = service.api("POST", "/detect", jpeg, token, headers={"Content-Type": "image/jpeg"})
    assert response.status == 200, response.body


def trickle(port, head, seconds, answers, index):
    """Sends `head` and 8 bytes, then a byte a second (each restarting the connection's idle timer) for up to
    `seconds` or until the server answers; stores (status, answer, seconds taken) at `answers[index]`."""
    started = time.monotonic()
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        try:
            s.sendall(head + b"--facegat")
            while time.monotonic() - started < seconds and not complete(answer):
                try:
                    data = s.recv(65536)
                    if not data:
                        break
                    answer += data
                except socket.timeout:
                    s.sendall(b"x")
        except (BrokenPipeError, ConnectionResetError):
            pass
    answers[index] = (status_of(answer), answer, time.monotonic() - started)


def test_trickled_bodies_end_at_the_body_deadline_and_one_account_cannot_take_every_tenants_photo_budget(services):
    """An operator of one organisation opens three enrolment uploads declaring ~105, ~105 and ~59 MB (more than the
    256 MiB photo budget) and trickles them a byte a second: photo bytes are reserved as they arrive, not as declared,
    so a kiosk of another organisation still checks in meanwhile (it got 503 `overloaded` until those connections
    closed); every such body ends at REQUEST_BODY_TIMEOUT_SECONDS with 408 `body_timeout`, and so does an anonymous
    login body trickled the same way (it held its connection for ever)."""
    service = services.start(env={"REQUEST_BODY_TIMEOUT_SECONDS": 4})
    _, tokens_a = service.organization("Trickle Gym A", roles=("operator",))
    _, tokens_b = service.organization("Trickle Gym B", roles=("kiosk",), liveness="off")
    member = service.member(tokens_a["operator"], "Slow Upload")
    multipart_type = "multipart/form-data; boundary=facegate-test-boundary"
    heads = [request_head(f"/members/{member}/faces", tokens_a["operator"], multipart_type, size)
             for size in (105_000_000, 105_000_000, 59_000_000)]
    heads.append(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n")
    answers = [None] * len(heads)
    threads = [threading.Thread(target=trickle, args=(service.port, head, 30, answers, i)) for i, head in enumerate(heads)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    response = service.api("POST", "/checkins", photo("face_recognition/obama/obama2.jpg"), tokens_b["kiosk"],
                           headers={"Content-Type": "image/jpeg"})
    for thread in threads:
        thread.join()
    print(f"\nanother tenant's check-in meanwhile: {response.status} {response.code}; trickled bodies: "
          + ", ".join(f"{status} after {seconds:.1f} s" for status, _, seconds in answers))
    assert response.status == 404 and response.code == "no_match", (response.status, response.body)
    for status, answer, seconds in answers:
        assert status == 408 and b"body_timeout" in answer, answer[:300]
        assert seconds < 4 + 4, seconds
    assert service.request("GET", "/health").status == 200


def test_a_stalled_request_or_an_idle_connection_is_closed(services):
    """A client that sends half a request head and stops, one that stops in the middle of a body, and one that keeps a
    connection open without a request: each is closed HTTP_IDLE_TIMEOUT_SECONDS after its last byte."""
    service = services.start(env={"HTTP_IDLE_TIMEOUT_SECONDS": 2})
    starts = {
        "half a head": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        "half a body": b"POST /api/v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                       b"Content-Length: 100000\r\n\r\n" + b"\xff" * 1000,
        "nothing": b"",
    }
    closed_after = {}
    for name, sent in starts.items():
        with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
            connection.sendall(sent)
            started = time.monotonic()
            try:
                while connection.recv(65536):  # a 4xx answer may come first; then the close
                    pass
                closed_after[name] = time.monotonic() - started
            except socket.timeout:
                closed_after[name] = None
    print(f"\nclosed after: {', '.join(f'{k} {v:.1f} s' if v else f'{k} never' for k, v in closed_after.items())}")
    assert all(seconds is not None and seconds < 6 for seconds in closed_after.values()), closed_after
    assert service.request("GET", "/health").status == 200


def peak_growth_under_uploads(service, token, uploads=60, size=10 * 2**20, style="raw"):
    """Peak resident growth (MB) while `uploads` clients each send a `size`-byte photo to /detect at once, as the raw
    body or as JSON base64 (`style`), and the answers' statuses and codes."""
    before = service.resident_bytes("VmHWM")
    photo = b"\xff\xd8\xff" + bytes(size - 3)  # a JPEG start, then nothing a decoder can use
    if style == "json":
        body, content_type = json.dumps({"image_base64": base64.b64encode(photo).decode()}).encode(), "application/json"
    else:
        body, content_type = photo, "image/jpeg"
    start = threading.Barrier(uploads)

    def upload(_):
        start.wait()
        response = service.api("POST", "/detect", body, token, headers={"Content-Type": content_type}, timeout=300)
        return response.status, response.code

    with ThreadPoolExecutor(uploads) as pool:
        answers = list(pool.map(upload, range(uploads)))
    return (service.resident_bytes("VmHWM") - before) / 2**20, answers


def test_many_large_uploads_at_once_stay_within_the_in_flight_budget(services):
    """60 clients send a 10 MiB photo body each at the same moment: with MAX_INFLIGHT_IMAGE_BYTES (64 MiB here) the
    peak memory stays near the budget and the excess is refused at once with 503 and Retry-After; without a budget
    every body is buffered (the figure it is compared with)."""
    bounded = services.start(env={"MAX_INFLIGHT_IMAGE_BYTES": 64 * 2**20})
    unbounded = services.start(env={"MAX_INFLIGHT_IMAGE_BYTES": 0})
    results = {}
    for name, service in (("unbounded", unbounded), ("bounded", bounded)):
        _, tokens = service.organization(f"Upload Gym {name}", roles=("admin",))
        results[name] = peak_growth_under_uploads(service, tokens["admin"])
    for name, (growth, answers) in results.items():
        print(f"\n60 x 10 MiB uploads at once, {name}: peak RSS +{growth:.0f} MB; answers {sorted(set(answers))}")
    growth, answers = results["bounded"]
    assert all(status in (400, 415, 422, 503) for status, _ in answers), answers
    refused = [code for status, code in answers if status == 503]
    assert refused and set(refused) == {"overloaded"}
    assert growth < 64 + 200, growth
    assert bounded.request("GET", "/health").status == 200


def test_many_large_json_photos_at_once_are_decoded_without_copies(services):
    """60 clients send a 10 MiB photo as JSON base64 (14 MB of text each) at the same moment, with no in-flight budget:
    each request holds its body, the JSON string and the decoded photo, nothing more (the base64 is decoded in one
    pass, off the shared executor). Measured (debug build): +1.04–1.06 GB; +1.49–1.58 GB when the text was filtered,
    re-encoded and copied on the way (five more copies), which this bound of 2 photo sizes per request refuses."""
    service = services.start(env={"MAX_INFLIGHT_IMAGE_BYTES": 0})
    _, tokens = service.organization("JSON Upload Gym", roles=("admin",))
    growth, answers = peak_growth_under_uploads(service, tokens["admin"], style="json")
    print(f"\n60 x 10 MiB photos as JSON base64 at once, unbounded: peak RSS +{growth:.0f} MB; answers {sorted(set(answers))}")
    assert all(status in (400, 422) for status, _ in answers), answers
    assert growth < 60 * 10 * 2, growth
    assert service.request("GET", "/health").status == 200


def png_header(width, height):
    """A PNG whose header claims width × height, followed by a little compressed data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
            + chunk(b"IEND", b""))


def test_hostile_bodies(service, org):
    token = org["tokens"]["admin"]
    member = org["member"]
    many_parts = multipart([("image", f"{i}.jpg", b"x") for i in range(1000)])
    deep = ("[" * 10_000 + "]" * 10_000).encode()
    deep_object = ('{"a":' * 10_000 + "1" + "}" * 10_000).encode()
    cases = [
        ("/detect", {"Content-Type": many_parts[0]}, many_parts[1], 400, "too_many_parts"),
        (f"/members/{member}/faces", {"Content-Type": many_parts[0]}, many_parts[1], 400, "too_many_parts"),
        ("/detect", {"Content-Type": "multipart/form-data"}, b"--x\r\n", 400, "invalid_multipart"),
        ("/detect", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\ngarbage", 400, None),
        ("/detect", {"Content-Type": "application/json"}, b'{"image_base64": "not base64 at all!!"}', 400,
         "invalid_base64"),
        ("/detect", {"Content-Type": "application/json"}, b'{"image_base64": "===="}', 400, "invalid_base64"),
        ("/detect", {"Content-Type": "application/json"}, b'{"image_base64": 12}', 400, "invalid_json"),
        ("/detect", {"Content-Type": "application/json"}, deep, 400, "invalid_json"),
        ("/detect", {"Content-Type": "application/json"}, deep_object, 400, "invalid_json"),
        ("/members", {"Content-Type": "application/json"}, deep_object, 400, "invalid_json"),
        ("/auth/login", {"Content-Type": "application/json"}, deep, 400, "invalid_json"),
        ("/users", {"Content-Type": "application/json"}, deep_object, 400, "invalid_json"),
        ("/detect", {"Content-Type": "image/png"}, png_header(60000, 60000), 413, "image_too_many_pixels"),
        ("/checkins", {"Content-Type": "image/png"}, png_header(60000, 60000), 413, "image_too_many_pixels"),
        ("/detect", {"Content-Type": "image/png"}, png_header(0, 0), 400, None),
        ("/detect", {"Content-Type": "text/plain"}, b"hello", 415, "unsupported_media_type"),
        ("/detect", {}, b"", 415, "unsupported_media_type"),
        ("/detect", {"Content-Type": "image/jpeg"}, b"", 400, None),
        ("/members", {"Content-Type": "application/json"}, b'{"name": "\xff\xfe broken"}', 400, None),
        ("/members", {"Content-Type": "application/json"}, b'{"name": ""}', 400, None),
        ("/members", {"Content-Type": "application/json"}, b'{"name": 7}', 400, "invalid_json"),
        ("/members", {"Content-Type": "application/json"}, b'[1, 2]', 400, "invalid_json"),
        ("/members", {"Content-Type": "application/json"}, b'{"name": "' + b"x" * 30_000 + b'"}', 400, None),
        # Bodies other than photos are read whole before anything else, at most 64 KiB.
        ("/members", {"Content-Type": "application/json"}, b'{"name": "' + b"x" * 100_000 + b'"}', 413,
         "body_too_large"),
        ("/auth/login", {"Content-Type": "application/json"}, b'{"username": "\xc3\x28", "password": "x"}', 400, None),
        ("/auth/refresh", {"Content-Type": "application/json"}, b'{"refresh_token": 5}', 400, "invalid_json"),
    ]
    tried = 0
    for path, headers, body, status, code in cases:
        response = service.api("POST", path, body, token, headers=headers)
        found = check_refusal(response, f"{path} {body[:40]!r}")
        assert response.status == status, f"{path} {body[:60]!r}: {response.status} {response.body[:200]!r}"
        if code:
            assert found == code, f"{path} {body[:60]!r}: {found}"
        tried += 1
    print(f"\n{tried} hostile bodies refused with 4xx")
    assert service.request("GET", "/health").status == 200


def test_parameters_and_strings_are_data_not_code(service, org):
    token = org["tokens"]["admin"]
    member = org["member"]
    jpeg = photo("face_recognition/obama/obama2.jpg")
    hostile = ["'; DROP TABLE members; --", "\" OR 1=1 --", "../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd",
               "%00", "\\x00", "$(reboot)", "<script>alert(1)</script>", "' OR '1'='1", "🙂" * 50, "\u202e\u0000"]
    tried = 0
    # Strings stored and returned verbatim.
    for text in hostile:
        clean = text.replace("\u0000", "")
        response = service.api("POST", "/members", {"name": clean, "external_id": clean[:60]}, token)
        if response.status == 201:
            created = response.json()
            shown = service.api("GET", f"/members/{created['id']}", token=token).json()
            assert shown["name"] == clean, shown
        else:
            check_refusal(response, f"member named {clean!r}")
        response = service.api("GET", "/members?q=" + quote(text), token=token)
        assert response.status == 200 or ("\u0000" in text or text == "%00") and response.code == "invalid_value", \
            (text, response.status, response.body[:200])
        tried += 2
    # The NUL character is refused, not passed to PostgreSQL (which cannot store it).
    response = service.api("POST", "/members", {"name": "a\u0000b"}, token)
    assert check_refusal(response, "NUL") and response.status == 400
    # Hostile ids and parameters in paths and query strings.
    paths = []
    for text in hostile + ["0", "-1", "null", "00000000-0000-0000-0000-000000000000", "%FF%FE", "%C3%28"]:
        q = quote(text)
        paths += [("GET", f"/members/{q}"), ("PATCH", f"/members/{q}"), ("DELETE", f"/members/{q}"),
                  ("GET", f"/members/{q}/faces"), ("DELETE", f"/members/{member}/faces/{q}"),
                  ("GET", f"/members/{member}/faces/{q}/thumbnail"), ("GET", f"/users/{q}"),
                  ("GET", f"/checkins?member_id={q}"), ("GET", f"/checkins?from={q}"), ("GET", f"/members?cursor={q}"),
                  ("GET", f"/checkins?cursor={q}")]
    for value in ["-1", "0", "99999999999999999999999", "1e9", "abc", "%FF", "51", "201"]:
        paths += [("GET", f"/members?limit={value}"), ("GET", f"/checkins?limit={value}"),
                  ("POST", f"/identify?top_k={value}")]
    for method, path in paths:
        body = jpeg if path.startswith("/identify") else (b"{}" if method == "PATCH" else None)
        headers = {"Content-Type": "image/jpeg" if path.startswith("/identify") else "application/json"}
        response = service.api(method, path, body, token, headers=headers)
        check_refusal(response, f"{method} {path}")
        assert response.status in (200, 400, 404), f"{method} {path}: {response.status} {response.body[:200]!r}"
        assert response.status != 200 or method == "GET" or path.startswith("/identify"), (method, path)
        tried += 1
    # Path traversal outside the API stays a 404, never a file.
    for path in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/v1/../../etc/passwd", "/api/v1/%2e%2e%2f"]:
        response = service.request("GET", path)
        assert response.status in (400, 404) and b"root:" not in response.body, (path, response.status)
        tried += 1
    # Everything is still there.
    tables = {row[0] for row in psql(service.database_url, "SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    assert {"members", "faces", "users", "organizations", "checkins"} <= tables
    assert service.api("GET", f"/members/{member}", token=token).status == 200
    print(f"\n{tried} hostile strings, ids and parameters: no 5xx, stored verbatim")


def test_unknown_fields_are_ignored_and_memory_comes_back(service, org):
    token = org["tokens"]["admin"]
    response = service.api("POST", "/members", {"name": "Extra Fields", "is_admin": True, "organization_id": "x",
                                                "id": "00000000-0000-0000-0000-000000000001"}, token)
    assert response.status == 201, response.body
    assert response.json()["id"] != "00000000-0000-0000-0000-000000000001"
    response = service.api("POST", "/auth/login", {"username": "root", "password": "nope", "role": "admin"})
    assert response.status == 401 and response.code == "invalid_credentials"

    # Memory: the big refusals repeated many times do not make the process grow.
    jpeg = photo("face_recognition/obama/obama2.jpg")
    big = b"\xff\xd8" + os.urandom(9 * 2**20)
    huge = png_header(60000, 60000)
    deep = ("[" * 10_000 + "]" * 10_000).encode()
    def round_of_abuse():
        for body, kind in [(big, "image/jpeg"), (huge, "image/png"), (deep, "application/json"), (jpeg, "image/jpeg")]:
            response = service.api("POST", "/detect", body, token, headers={"Content-Type": kind})
            assert response.status < 500
    round_of_abuse()
    before = service.resident_bytes()
    for _ in range(15):
        round_of_abuse()
    after = service.resident_bytes()
    print(f"\nRSS after 1 round {before / 2**20:.0f} MB, after 15 more {after / 2**20:.0f} MB")
    assert after - before < 64 * 2**20, f"grew {(after - before) / 2**20:.0f} MB over 15 rounds"


def quote(text):
    return urllib.parse.quote(text, safe="%")
