#!/usr/bin/env bash
# Set up the test dependencies and run the whole test suite.
# Usage: scripts/test.sh [pytest options...]
set -euo pipefail
EXTRAS=${EXTRAS:-test,neural} source "$(dirname "$0")/_venv.sh"
exec .venv/bin/python -m pytest -q "$@"
