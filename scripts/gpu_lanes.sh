#!/usr/bin/env bash
# Run studies' remaining training cells on a lent GPU machine, many lanes sharing its one GPU, and send
# the new result files back through $OUT. Runs THERE (the device tool's machine), from the repo root.
#
#   scripts/gpu_lanes.sh START_MIN STOP_MIN LANES STEP...
#     START_MIN  start no cell expected to end after this many minutes (sweep --deadline)
#     STOP_MIN   kill whatever still runs at this many minutes, so the command ends inside its limit
#     LANES      parallel sweeps (one CPU thread each; they time-share the GPU: an LSTM step at batch 64
#                is launch-bound, so one process alone leaves most of the GPU idle)
#     STEP       STUDY:KINDS[:MATCH], kinds and match comma-separated, e.g.
#                studies/saliency.yaml:retrain:_s95_,_s90_  or  studies/see2016.yaml:scratch
#
# On this machine, before the call (the GPU image has PyTorch, sacrebleu, safetensors, sentencepiece, but
# no sacremoses, and the tree must fit the tool's 64 MiB):
#   git commit ...; scripts/gpu_slim.sh on multi30k-en-de    # slims the tree, fetches .whl/sacremoses
#   device run, carry [".whl"], timeout_s 600 (smoke check ~1 min + STOP_MIN + packing), e.g.
#     NMTPRUNE_COMMIT=<sha> scripts/gpu_lanes.sh 5 8 12 studies/budget.yaml:retrain \
#       studies/saliency.yaml:retrain,dense-continued studies/saliency.yaml:scratch studies/see2016.yaml:scratch
#   (write HEAD's hash into the command: the copy travels without .git). The first GPU run has no GPU
#   timings, so until its first cells finish any cell starts before START_MIN; later, the GPU medians.
#   scripts/gpu_slim.sh off
#   tar xzf FILES_AT/results.tar.gz        # the new results/ files; then report, README, commit
#
# First scripts/gpu_smoke.py (about a minute; GPU_LANES_NO_SMOKE=1 skips it): on failure no lane starts.
# $OUT gets results.tar.gz (re-packed every 20 s, so a command cut off still returns what finished),
# lanes.log (every lane's output) and gpu.txt (nvidia-smi, the smoke check's lines, at start and end).
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
START_MIN=$1 STOP_MIN=$2 LANES=$3
shift 3
OUT="${OUT:-runs/gpu-out}"
mkdir -p "$OUT" runs
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "gpu_lanes: installing the carried wheels failed" >&2; exit 1; }
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
NMT=(python3 -m nmtprune)
nvidia-smi > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, nmtprune.provenance as p; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), p.machine(), 'commit', p.git_commit())" \
  | tee -a "$OUT/gpu.txt" || exit 1
# every result records its commit; the copy travels without .git, so the caller names it
python3 -c "import sys, nmtprune.provenance as p; sys.exit(0 if p.git_commit() else 4)" \
  || { echo "gpu_lanes: no commit known: set NMTPRUNE_COMMIT=\$(git rev-parse HEAD) in the command" | tee -a "$OUT/gpu.txt" >&2; exit 4; }
# on a machine without CUDA, 1-thread lanes would only start cells that cannot finish in minutes
[ -n "${GPU_LANES_ALLOW_CPU:-}" ] || python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)" \
  || { echo "gpu_lanes: no CUDA device (set GPU_LANES_ALLOW_CPU=1 to run anyway)" | tee -a "$OUT/gpu.txt" >&2; exit 3; }

# a minute's check of the CUDA training paths first: if it fails, the lanes would fail cell by cell
if [ -z "${GPU_LANES_NO_SMOKE:-}" ]; then
  timeout 300 python3 scripts/gpu_smoke.py >> "$OUT/gpu.txt" 2>&1 \
    || { echo "gpu_lanes: scripts/gpu_smoke.py failed (its output: $OUT/gpu.txt); no lanes started" >&2; exit 5; }
fi

STAMP=runs/gpu-lanes.stamp
touch "$STAMP"
sleep 1  # result files written from now on are newer than the stamp
pack() {  # every result file written since the start, into one archive (atomically replaced)
  find results -name '*.json' -newer "$STAMP" -print0 | tar czf "$OUT/.results.tar.gz" --null -T - 2>/dev/null
  mv -f "$OUT/.results.tar.gz" "$OUT/results.tar.gz"
}

DEADLINE=$(date -d "+$START_MIN min" +%Y-%m-%dT%H:%M:%S)
lane() {
  for step in "$@"; do
    IFS=':' read -r study kinds match <<<"$step"
    # shellcheck disable=SC2086  # word lists
    "${NMT[@]}" sweep "$study" --only ${kinds//,/ } ${match:+--match ${match//,/ }} --deadline "$DEADLINE" \
      --threads 1 --no-progress
  done
}
set -m  # each lane in its own process group: the stop below ends these lanes and nothing else
pids=()
for i in $(seq 1 "$LANES"); do
  lane "$@" > "runs/gpu-lane$i.log" 2>&1 &
  pids+=($!)
  sleep 2  # lanes take their first cells a moment apart
done
end=$(( $(date +%s) + STOP_MIN * 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
  alive=0
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 1 ] || break
  pack
  sleep 20
done
for p in "${pids[@]}"; do  # past STOP_MIN: cells still training are lost (runs/ stays there)
  kill -TERM -- "-$p" 2>/dev/null
done
wait
pack
nvidia-smi >> "$OUT/gpu.txt" 2>&1
for i in $(seq 1 "$LANES"); do echo "== lane $i"; cat "runs/gpu-lane$i.log"; done > "$OUT/lanes.log"
echo "gpu_lanes: $(tar tzf "$OUT/results.tar.gz" | wc -l) result files in $OUT/results.tar.gz"
grep -h '"failed": [1-9]' runs/gpu-lane*.log && exit 1
exit 0
