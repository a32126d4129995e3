# Shared by the set-up scripts: make .venv (once) and install letgo into it with EXTRAS,
# saying what is happening while pip works (it is quiet, and takes a minute or more).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "creating the virtual environment in .venv..." >&2
  "$PYTHON" -m venv .venv
fi
echo "updating pip..." >&2
.venv/bin/python -m pip install --quiet --upgrade pip
echo "installing letgo${EXTRAS:+ with $EXTRAS} and its voice and ffmpeg (a minute or more the first time)..." >&2
.venv/bin/python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
echo "installed: $(.venv/bin/letgo --version)" >&2
