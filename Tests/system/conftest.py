"""Fixtures of the system tests: real `facegate serve` processes on real databases (see facegate_service.py).

Markers: `faults` (kill -9, PostgreSQL outages, overload, concurrent starts: scripts/reliability runs them; scripts/test
leaves them out unless FACEGATE_FAULTS=1).
"""

import os

import pytest

from facegate_service import Service, drop_database, faces_root, fresh_database

# Generous limits, so that a test measures what it means to (the limits themselves have their own tests).
OPEN_LIMITS = {"RATE_LIMIT_PER_MINUTE": 1_000_000, "RATE_LIMIT_BURST": 1_000_000,
               "LOGIN_RATE_LIMIT_PER_MINUTE": 10_000, "CHECKIN_DEDUP_SECONDS": 0, "ACCESS_TOKEN_EXPIRE_MINUTES": 240,
               "READY_RATE_LIMIT_PER_MINUTE": 1_000_000}


def pytest_configure(config):
    config.addinivalue_line("markers", "faults: kills, outages and overload (opt-in in scripts/test)")
    for name in ("FACEGATE_BIN", "FACEGATE_TEST_DATABASE_URL", "FACEGATE_PG_BIN"):
        if name not in os.environ:
            raise pytest.UsageError(f"{name} is not set: run the system tests with scripts/test or scripts/reliability")


requires_faces = pytest.mark.skipif(
    not os.path.exists(os.path.join(faces_root(), "manifest.csv")),
    reason=f"face photos not found at {faces_root()} (set FACEGATE_TEST_DATA); skipped")


class Services:
    """Starts services on fresh databases and stops and drops them all at the end."""

    def __init__(self):
        self.started, self.databases = [], []

    def database(self):
        url = fresh_database()
        self.databases.append(url)
        return url

    def start(self, env=None, database_url=None, wait=True):
        service = Service(database_url or self.database(), env={**OPEN_LIMITS, **(env or {})})
        self.started.append(service)
        return service.start(wait=wait)

    def close(self):
        for service in self.started:
            service.stop()
        for url in self.databases:
            drop_database(url)


@pytest.fixture(scope="module")
def services():
    pool = Services()
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def service(services):
    """One service for a whole test module, with open rate limits."""
    return services.start()
