#!/usr/bin/env bash
# The test command: install wireproto with its test extras (editable), then run the whole suite.
#
#   ./scripts/test.sh [PYTEST ARGS...]      e.g. ./scripts/test.sh -x -k logs
#
# Both backends run in this one pytest run: behavioural tests take the parametrised
# `backend` / `demuxer_class` fixture (tests/conftest.py); "native" skips only if the C module
# was not built (no compiler). Tests marked `engine` need a Docker Engine: they use
# WIREPROTO_ENGINE_HOST (`eval "$(scripts/engine.sh env)"` after `scripts/engine.sh up`), else
# start a private one when run as root, else skip — or fail with WIREPROTO_REQUIRE_ENGINE=1.
# PYTHON picks the interpreter (default: python, else python3). Exits with pytest's status.
set -euo pipefail

cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
    if command -v python >/dev/null 2>&1 && python -c 'import sys; sys.exit(sys.version_info < (3,))'; then
        PYTHON=python
    else
        PYTHON=python3
    fi
fi

"$PYTHON" -m pip install --quiet --disable-pip-version-check -e '.[test]'
"$PYTHON" - <<'PY' || true
from wireproto import mux

try:
    mux.demuxer_class("native")
    native = "built"
except Exception as error:  # noqa: BLE001 - report only
    native = f"NOT available, its tests will skip ({error})"
print(f"wireproto: default backend {mux.BACKEND}; native backend {native}")
PY
exec "$PYTHON" -m pytest "$@"
