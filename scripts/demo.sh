#!/usr/bin/env bash
# Set everything up (a .venv with letgo, its neural voice and its ffmpeg) and render a meditation.
# EXTRAS= scripts/demo.sh installs letgo without the neural voice (it then speaks with eSpeak).
# Usage: scripts/demo.sh [TEMPLATE] [letgo render options...]
set -euo pipefail
EXTRAS=${EXTRAS-neural} source "$(dirname "$0")/_venv.sh"
echo "checking what letgo needs..." >&2
.venv/bin/letgo doctor
echo "rendering ${1:-letting-go}..." >&2
.venv/bin/letgo render "${1:-letting-go}" "${@:2}"
