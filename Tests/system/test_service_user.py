"""`scripts/run` started as root serves as the service's own system user, not as root (scripts/lib.sh
`prepare_service_user`): the same privilege drop around the executable under test, which then serves and reads its
models and database as that user."""

import os
import subprocess

import pytest

from facegate_service import Service

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def traversable_by_others(path):
    """Whether every folder from / to `path` lets other users through (as scripts/lib.sh checks)."""
    while path != "/":
        if not os.stat(path).st_mode & 0o001:
            return False
        path = os.path.dirname(path)
    return True


@pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop happens only when started as root")
@pytest.mark.skipif(not traversable_by_others(REPO), reason=f"{REPO} is not reachable by other users: scripts/run "
                    "refuses to serve from it as root (tested here only where it would serve)")
def test_started_as_root_the_service_runs_as_its_own_user_without_capabilities(services):
    service = Service(services.database())
    services.started.append(service)
    script = 'source scripts/lib.sh; prepare_service_user; exec "${AS_SERVICE_USER[@]}" "$FACEGATE_BIN" serve'
    with open(service.log_path, "ab") as log:
        service.process = subprocess.Popen(["bash", "-c", script], cwd=REPO, env=service.environment(),
                                           stdout=subprocess.DEVNULL, stderr=log)
    service.wait_ready(120)
    with open(f"/proc/{service.process.pid}/status") as f:
        status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    uids = status["Uid"].split()
    assert uids[0] != "0" and len(set(uids)) == 1, status["Uid"]  # real, effective, saved and file uid alike
    assert status["CapEff"].strip() == "0" * 16 and status["CapBnd"].strip() == "0" * 16
    assert subprocess.run(["id", "-un", uids[0]], text=True, capture_output=True).stdout.strip() == \
        os.environ.get("FACEGATE_SERVICE_USER", "facegate")
    # It works as that user: signs in (the database) and answers.
    assert service.token()
