#!/usr/bin/env bash
# Set everything up (a .venv with letgo, its neural voice, its speech check's recogniser and its
# ffmpeg) and render a meditation.
# EXTRAS= scripts/demo.sh installs letgo alone (it then speaks with eSpeak, checked without a recogniser).
# Usage: scripts/demo.sh [TEMPLATE] [letgo render options...]
set -euo pipefail
EXTRAS=${EXTRAS-neural,align} source "$(dirname "$0")/_venv.sh"
echo "checking what letgo needs..." >&2
.venv/bin/letgo doctor
echo "rendering ${1:-letting-go}..." >&2
.venv/bin/letgo render "${1:-letting-go}" "${@:2}"
