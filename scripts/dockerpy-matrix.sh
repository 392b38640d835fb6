#!/usr/bin/env bash
# Runs tests/integrations (docker-py on wireproto against stock docker-py) on
# the docker-py / urllib3 pairs CI covers, each in its own venv:
#   docker==6.1.3 with urllib3<2     docker==7.1.0 with urllib3>=2
#
#   scripts/dockerpy-matrix.sh [VENV_ROOT]     (default: a temporary directory)
#
# wireproto is installed into each venv from this checkout (its C module
# built there).  Extra pytest arguments go in PYTEST_ARGS.  Exits non-zero if
# either run fails (both run regardless).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venvs=${1:-$(mktemp -d)}
python=${PYTHON:-python3}
status=0
# docker 6.1 predates requests 2.32, which broke its http+docker:// adapter.
for pair in "6.1.3 urllib3<2 requests<2.32" "7.1.0 urllib3>=2 requests"; do
  read -r docker_version urllib3_spec requests_spec <<<"$pair"
  venv=$venvs/docker-$docker_version
  echo "=== docker==$docker_version with $urllib3_spec ($venv)"
  "$python" -m venv "$venv" || { status=1; continue; }
  if ! "$venv/bin/pip" install -q "docker==$docker_version" "$urllib3_spec" \
      "$requests_spec" pytest hypothesis trio "$root" 2>&1 | tail -3; then
    status=1
    continue
  fi
  # A copy of the tests outside the checkout, so the installed wireproto is the one imported.
  rm -rf "$venvs/tests" && cp -r "$root/tests" "$venvs/tests"
  cp "$root/pyproject.toml" "$venvs/"  # the markers
  (cd "$venvs" && "$venv/bin/python" -m pytest -q -p no:cacheprovider \
      tests/integrations ${PYTEST_ARGS:-}) || status=1
  "$venv/bin/python" -c 'import docker, urllib3; print("ran on docker", docker.__version__, "urllib3", urllib3.__version__)'
done
exit $status
