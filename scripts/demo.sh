#!/usr/bin/env bash
# Set everything up (a .venv with letgo, its voice and its ffmpeg) and render a meditation.
# Usage: scripts/demo.sh [TEMPLATE] [letgo render options...]
set -euo pipefail
EXTRAS=${EXTRAS:-} source "$(dirname "$0")/_venv.sh"
echo "checking what letgo needs..." >&2
.venv/bin/letgo doctor
echo "rendering ${1:-letting-go}..." >&2
.venv/bin/letgo render "${1:-letting-go}" "${@:2}"
