"""Drives a real `facegate serve` process for the system tests: its own database on a PostgreSQL cluster, a free
loopback port, HTTP calls with the raw status, headers and body, and the process's resident memory.

Environment (scripts/test and scripts/reliability set it): FACEGATE_BIN (the executable), FACEGATE_TEST_DATABASE_URL
(the test cluster), FACEGATE_PG_BIN (psql), FACEGATE_PG_SCRIPT (scripts/pg), FACEGATE_MODELS_DIR, FACEGATE_TEST_DATA.
"""

import base64
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field

PASSWORD = "correct horse battery staple"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url, sql):
    """Runs `sql` on `url`; returns the rows as lists of strings (unaligned, tab-separated)."""
    out = subprocess.run([os.path.join(os.environ["FACEGATE_PG_BIN"], "psql"), url, "-X", "-q", "-A", "-t", "-F", "\t",
                          "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def with_database(url, name):
    head, _ = url.rsplit("/", 1)
    query = ""
    if "?" in url:
        _, query = url.split("?", 1)
        query = "?" + query
    return f"{head}/{name}{query}"


def fresh_database(cluster_url=None):
    """A new empty database on the cluster; its URL."""
    cluster_url = cluster_url or os.environ["FACEGATE_TEST_DATABASE_URL"]
    name = "system_" + uuid.uuid4().hex[:16]
    psql(cluster_url, f"CREATE DATABASE {name}")
    return with_database(cluster_url, name)


def drop_database(url):
    admin = with_database(url, "postgres")
    name = url.rsplit("/", 1)[1].split("?")[0]
    psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    seconds: float = 0.0

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def code(self):
        """The problem code of an error response (None when the body is no problem+json)."""
        body = self.json()
        return body.get("code") if isinstance(body, dict) else None


class NotReady(AssertionError):
    """/ready did not report what was waited for; `report` is its last answer."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


def gallery_error_of(report):
    """The gallery check's error in a /ready report, if any."""
    checks = report.get("checks") if isinstance(report, dict) else None
    gallery = checks.get("gallery") if isinstance(checks, dict) else None
    return gallery.get("error") if isinstance(gallery, dict) else None


@dataclass
class Service:
    """One `facegate serve` process. `env` adds to (or overrides) the test settings; `admin_username` is the super
    admin, and `password` every account's password."""
    database_url: str
    env: dict = field(default_factory=dict)
    log_path: str = None
    port: int = field(default_factory=free_port)
    admin_username: str = "root"
    password: str = PASSWORD
    process: subprocess.Popen = None

    # Every instance on one database (a restart, a second instance) shares its keys: derived from its URL.
    @property
    def secret_key(self):
        return hashlib.sha256(b"secret " + self.database_url.encode()).hexdigest()

    @property
    def biometric_key(self):
        return base64.b64encode(hashlib.sha256(b"biometric " + self.database_url.encode()).digest()).decode()

    def __post_init__(self):
        self.log_path = self.log_path or os.path.join(
            os.environ.get("FACEGATE_SYSTEM_OUTPUT", "/tmp"), f"facegate-{self.port}.log")

    def environment(self):
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url, "HOST": "127.0.0.1", "PORT": str(self.port), "LOG_LEVEL": "warning",
            "SECRET_KEY": self.secret_key,
            "BIOMETRIC_ENCRYPTION_KEY": self.biometric_key,
            "SUPER_ADMIN_USERNAME": self.admin_username, "SUPER_ADMIN_PASSWORD": self.password,
            "MODELS_DIR": os.environ.get("FACEGATE_MODELS_DIR", "models"), "OPENBLAS_NUM_THREADS": "1",
        })
        env.update({k: str(v) for k, v in self.env.items()})
        return env

    def start(self, wait=True, timeout=120):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([os.environ["FACEGATE_BIN"], "serve"], env=self.environment(),
                                            stdout=subprocess.DEVNULL, stderr=log)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=120, until=None):
        """Waits until /ready is 200 (and `until(report)` holds, when given); returns the report. Fails at once when
        the gallery reports an error (faces under a template key this instance lacks: only a restart with the key
        clears it), with that error, instead of waiting out the bound."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"facegate serve exited with {self.process.returncode}; see {self.log_path}")
            try:
                response = self.request("GET", "/ready", timeout=5)
                last = response.json()
                if response.status == 200 and (until is None or until(last)):
                    return last
                gallery_error = gallery_error_of(last)
                if gallery_error:
                    raise NotReady(f"not ready: {gallery_error}", last)
            except OSError:
                pass
            time.sleep(0.1)
        raise NotReady(f"not ready within {timeout} s: {last}", last)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def resident_bytes(self, field="VmRSS"):
        """Resident memory now (or, with field="VmHWM", its peak so far)."""
        with open(f"/proc/{self.process.pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields[field].split()[0]) * 1024

    def request(self, method, path, body=None, headers=None, token=None, timeout=60, source=None):
        """One HTTP/1.1 request on a new connection (from the loopback address `source`, when given)."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        if token:
            headers["Authorization"] = "Bearer " + token
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                                source_address=(source, 0) if source else None)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            data = raw.read()
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data, time.monotonic() - started)
        finally:
            connection.close()

    def api(self, method, path, body=None, token=None, **options):
        return self.request(method, "/api/v1" + path, body=body, token=token, **options)

    def api_patiently(self, method, path, body=None, token=None, attempts=30, **options):
        """`api`, waiting out 503 `overloaded` answers as their Retry-After asks."""
        for _ in range(attempts):
            response = self.api(method, path, body, token, **options)
            if not (response.status == 503 and response.code == "overloaded"):
                return response
            time.sleep(float(response.headers.get("retry-after", "1")))
        return response

    # MARK: - accounts

    def login(self, username=None, password=None, **options):
        response = self.api("POST", "/auth/login", {"username": username or self.admin_username,
                                                    "password": password or self.password}, **options)
        assert response.status == 200, (response.status, response.body)
        return response.json()

    def token(self, username=None):
        return self.login(username)["access_token"]

    def organization(self, name, roles=("admin", "operator", "kiosk"), liveness=None):
        """A new organisation with one account per role; its id and {role: access token}. `liveness="off"` for one whose
        kiosks post single photos (terminals that bring their own liveness); the service's default is `challenge`."""
        root = self.token()
        response = self.api("POST", "/organizations", {"name": name, **({"liveness": liveness} if liveness else {})}, root)
        assert response.status == 201, (response.status, response.body)
        org = response.json()["id"]
        tokens = {}
        for role in roles:
            username = f"{name}-{role}".lower().replace(" ", "-")
            response = self.api("POST", "/users", {"username": username, "password": self.password, "role": role,
                                                   "organization_id": org}, root)
            assert response.status == 201, (response.status, response.body)
            tokens[role] = self.token(username)
        return org, tokens

    def member(self, token, name, **fields):
        response = self.api("POST", "/members", {"name": name, **fields}, token)
        assert response.status == 201, (response.status, response.body)
        return response.json()["id"]

    def enrol(self, token, member, photo, **options):
        return self.api("POST", f"/members/{member}/faces", photo, token,
                        headers={"Content-Type": "image/jpeg"}, **options)


def faces_root():
    return os.environ.get("FACEGATE_TEST_DATA") or os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "shared", "faces")


def photo(relative):
    with open(os.path.join(faces_root(), relative), "rb") as f:
        return f.read()
