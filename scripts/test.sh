#!/usr/bin/env bash
# Set up the test dependencies, run the checks (ruff, ruff format, mypy), then the fast tests
# (no real engines, no Chromium) and the end-to-end ones, and print how long each part took.
# Usage: scripts/test.sh [--fast | --library] [pytest options...]
#   --fast: the checks and the fast part only
#   --library: also the sweeps of the whole library with each real voice (pytest -m library; long)
set -euo pipefail
EXTRAS=${EXTRAS:-test,neural,align,cluster} source "$(dirname "$0")/_venv.sh"
# Python's bytecode cache on, as an installed letgo has it (some sandboxes turn it off): else
# every pytest worker rewrites the test modules' asserts again (about 15 s each) and every
# `letgo` a test starts compiles letgo afresh. The caches are __pycache__ folders, git-ignored.
unset PYTHONDONTWRITEBYTECODE
fast_only=false
e2e="e2e and not library"
if [ "${1:-}" = "--fast" ]; then fast_only=true; shift; fi
if [ "${1:-}" = "--library" ]; then e2e="e2e"; shift; fi
# The series player-page test loads the page in headless Chromium.
if ! $fast_only && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "test.sh: installing chromium for the player-page test..." >&2
  { apt-get update -qq || true; apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 \
    || echo "test.sh: could not install chromium; the player-page test will fail" >&2
fi
echo "test.sh: checking style and types (ruff, ruff format, mypy)..." >&2
.venv/bin/ruff check --quiet src tests scripts
.venv/bin/ruff format --check --quiet src tests scripts
.venv/bin/mypy
# Each part runs on one pytest-xdist worker per core; a module marked xdist_group runs on one
# worker, so the speech its tests share is spoken once.
# pytest exits 5 when a part has no tests among those asked for (e.g. one file): not a failure.
part() { .venv/bin/python -m pytest -q "$@" || { rc=$?; [ "$rc" -eq 5 ] || exit "$rc"; }; }
start=$SECONDS
echo "test.sh: the fast tests (fake engine, no Chromium), one worker per core..." >&2
part -m "not e2e" -n auto --dist loadgroup "$@"
fast=$((SECONDS - start))
echo "test.sh: fast part: ${fast} s" >&2
$fast_only && exit 0
echo "test.sh: the end-to-end tests (real engines, encoders, files, Chromium), one worker per core..." >&2
part -m "$e2e" -n auto --dist loadgroup "$@"
echo "test.sh: fast part ${fast} s, end-to-end part $((SECONDS - start - fast)) s, whole suite $((SECONDS - start)) s" >&2
