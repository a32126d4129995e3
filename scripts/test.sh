#!/usr/bin/env bash
# Set up the test dependencies and run the whole test suite.
# Usage: scripts/test.sh [pytest options...]
set -euo pipefail
EXTRAS=${EXTRAS:-test,neural,cluster} source "$(dirname "$0")/_venv.sh"
# The series player-page test loads the page in headless Chromium.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "test.sh: installing chromium for the player-page test..." >&2
  { apt-get update -qq || true; apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 \
    || echo "test.sh: could not install chromium; the player-page test will fail" >&2
fi
echo "test.sh: running the tests..." >&2
exec .venv/bin/python -m pytest -q "$@"
