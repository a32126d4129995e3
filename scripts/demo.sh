#!/usr/bin/env bash
# Set everything up (a .venv with letgo, its voice and its ffmpeg) and render a meditation.
# Usage: scripts/demo.sh [TEMPLATE] [letgo render options...]
set -euo pipefail
EXTRAS=${EXTRAS:-} source "$(dirname "$0")/_venv.sh"
.venv/bin/letgo doctor
.venv/bin/letgo render "${1:-letting-go}" "${@:2}"
