#!/usr/bin/env bash
# Installs what the site and video tests need, idempotently: Debian's Chromium (Playwright cannot
# download its own browser here, so the tests launch /usr/bin/chromium explicitly), the Playwright
# Python package, and imageio-ffmpeg (the ffmpeg binary that the video command uses; Pillow, which
# matplotlib already brings, writes the GIF).
# Usage: .ci/install-browser.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
fi
"$PY" -c "import playwright, imageio_ffmpeg" 2>/dev/null || \
    "$PY" -m pip install -q playwright imageio-ffmpeg
chromium --version
"$PY" -c "import imageio_ffmpeg; print('ffmpeg:', imageio_ffmpeg.get_ffmpeg_exe())"
