#!/usr/bin/env bash
# Creates the OpenNMT-py 3.5.1 baseline venv used by benchmarks/train_throughput.py.
#
#   bash benchmarks/setup_opennmt.sh            # -> /work/main/.venv-onmt (git-ignored)
#   ONMT_VENV=/some/where bash benchmarks/setup_opennmt.sh
#
# Idempotent: re-running only installs what is missing. OpenNMT-py 3.5.1 pins torch<2.3 in its
# metadata, so it is installed with --no-deps on top of torch 2.13.0 (the same CPU build nmtprune
# uses) and run unpatched; the start-up modules it imports are installed explicitly (list below,
# found by running `onmt_train -h` / `onmt_build_vocab -h` until they start).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="${ONMT_VENV:-$REPO/.venv-onmt}"
PY="${PYTHON:-python3}"

TORCH_SPEC="torch==2.13.0"
ONMT_SPEC="OpenNMT-py==3.5.1"
# Modules OpenNMT-py 3.5.1 imports when onmt_train / onmt_build_vocab start (its setup.py
# install_requires minus torch, plus what `onmt_train -h` showed to be missing).
STARTUP_MODULES=(
  configargparse
  pyyaml
  sacrebleu
  pyonmttok
  numpy
  spacy
  pyahocorasick
  rapidfuzz
  regex
  fasttext-wheel
)

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating venv $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)

# 1. torch first, and never a CUDA build: refuse if the resolver wants any nvidia-* package.
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
  report="$(mktemp)"
  "${PIP[@]}" install --dry-run --quiet --report "$report" "$TORCH_SPEC" >/dev/null
  if grep -q '"name": *"nvidia-' "$report"; then
    echo "ERROR: installing $TORCH_SPEC would pull CUDA (nvidia-*) wheels; stopping." >&2
    grep -o '"name": *"nvidia-[^"]*"' "$report" | sort -u >&2
    rm -f "$report"
    exit 1
  fi
  rm -f "$report"
  "${PIP[@]}" install "$TORCH_SPEC"
fi
"$VENV/bin/python" - <<'EOF'
import torch
assert torch.__version__.startswith("2.13.0"), torch.__version__
assert torch.version.cuda is None, f"CUDA build of torch: {torch.version.cuda}"
print("torch", torch.__version__, "(CPU build)")
EOF

# 2. OpenNMT-py without its (torch<2.3) dependency pins.
if ! "$VENV/bin/python" -m pip show OpenNMT-py 2>/dev/null | grep -q '^Version: 3.5.1$'; then
  "${PIP[@]}" install --no-deps "$ONMT_SPEC"
fi

# 3. start-up modules (pip skips what is already there). Must not touch torch.
"${PIP[@]}" install "${STARTUP_MODULES[@]}"
"$VENV/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
if "${PIP[@]}" list 2>/dev/null | grep -qi '^nvidia-'; then
  echo "ERROR: nvidia-* packages ended up in $VENV" >&2
  exit 1
fi

# 4. smoke: the entry points must start.
"$VENV/bin/onmt_train" -h >/dev/null
"$VENV/bin/onmt_build_vocab" -h >/dev/null
echo "OpenNMT-py $("$VENV/bin/python" -c 'import onmt; print(onmt.__version__)') ready in $VENV"
