#!/usr/bin/env bash
# Run the studies' training cells on a CPU in N parallel one-thread lanes, most useful cells first.
#
#   scripts/cpu_lanes.sh [N] [LOG_DIR]       # default: N = number of cores, logs in runs/lanes/
#   DEADLINE=19:10 scripts/cpu_lanes.sh 2    # start only cells expected to finish by 19:10 (a session
#                                            # that ends then loses any cell still training)
#   nmtprune sweep STUDY --status            # what is left, with a time estimate
#
# Every lane walks the same priority list below. Sweeps of one study may run side by side: each cell is
# locked while a lane trains it, so the lanes split each step's cells between them, and a lane that
# finds the rest of a step busy or done goes on to the next step. Killing the lanes loses at most the
# work since each cell's last checkpoint (cells resume from it); finished cells are never rerun.
set -uo pipefail
cd "$(dirname "$0")/.."
N="${1:-$(nproc)}"
LOGS="${2:-runs/lanes}"
NMT="${NMTPRUNE:-.venv/bin/nmtprune}"
mkdir -p "$LOGS"

# study | kinds | id substrings (empty: every cell of those kinds)
STEPS=(
  "studies/saliency.yaml|retrain|random_"              # the random-mask control at 90/95 %, 3 seeds (~1.5 h
                                                        # each in fp32 on an AVX2 core): does any score matter
                                                        # once the network is retrained?
  "studies/reconstruction.yaml|prune-eval|"           # SparseGPT, Wanda, N:M and their controls without
                                                        # retraining (~2.5 min per cell)
  "studies/reconstruction.yaml|calibration|"          # calibration sentences, damping and block size vs BLEU
                                                        # and the pruning step's time (~2.5-4 min per cell)
  "studies/reconstruction.yaml|class-breakdown where|wanda sparsegpt"   # per class and where they prune (no training)
  "studies/site.yaml|site-score|wanda sparsegpt"      # the site's Wanda and SparseGPT scores (no training)
  "studies/saliency.yaml|scratch|seed1_scored-init seed1_fresh-init"   # each mask from its own initialisation
                                                        # and the dense network through the scratch path, seed 1
  "studies/deploy.yaml|unit-retrain retrain|"        # the models the deployable table ships: half the units
                                                        # removed and retrained (~1 h), magnitude 95 % by the
                                                        # 25-epoch gradual recipe (~7.5 h; resumable)
  "studies/budget.yaml|retrain dense-continued|gradual_class-blind_s90_seed1 dense-continued_seed1"   # schedule vs
  "studies/budget_long.yaml|retrain|magnitude_class-blind_s95_seed1"   # budget: gradual 90 % and a dense control at
                                                        # 15 epochs, one-shot 95 % at 25 epochs (seed 1 each)
  "studies/units.yaml|unit-retrain|random-unit"        # random units removed and retrained, 3 seeds: the
                                                        # control beside every unit method
  "studies/reconstruction.yaml|retrain dense-continued|sparsegpt_class-blind_s95_seed1 sparsegpt_class-blind_s90_seed1"
  "studies/reconstruction.yaml|retrain|_seed1"          # Wanda per-row, 2:4, SparseGPT's mask without update
  "studies/saliency.yaml|scratch|_scored-init _fresh-init"   # seeds 2 and 3 of the matched protocol
  "studies/controls80.yaml|retrain scratch|"            # at 80 %: a random mask retrained, and magnitude's mask,
                                                        # a random mask and the dense network from scratch
  "studies/reconstruction.yaml|retrain|"                # SparseGPT's seeds 2 and 3
  "studies/budget_long.yaml|retrain dense-continued|"  # the recipe that met the 95 % target: seeds 2, 3
                                                        # and its dense control (~170 min each)
  "studies/saliency.yaml|retrain|gradual_class-blind_s95_seed1 iterative_class-blind_s95_seed1"
  "studies/saliency.yaml|retrain|_s95_seed1"           # which method comes closest at 95 % (the target)
  "studies/units.yaml|unit-retrain unit-greg|"          # every unit method retrained, 3 seeds
  "studies/see2016.yaml|retrain dense-continued|"       # See et al. Fig 6, 3 seeds, and the dense control
  "studies/see2016.yaml|scratch|"                       # sparse from scratch (~1-2 h each)
  # See et al.'s second-corpus check: with the cells above, all the See et al. study still needs
  "studies/see2016_tatoeba.yaml|retrain dense-continued|_seed1"   # the seed-1 curve and its dense control
  "studies/see2016_tatoeba.yaml|retrain dense-continued|"
  "studies/see2016_tatoeba.yaml|scratch|"
  "studies/budget.yaml|retrain|retrain_magnitude_class-blind_s90 gradual_class-blind_s95"   # T5's and the 95 % target's
                                                        # gaps with the reference's full epochs (~70-140 min each)
  "studies/saliency.yaml|retrain dense-continued|"    # the 90/95 % points, 3 seeds, and the dense control
  "studies/saliency.yaml|scratch|snip-init_ grasp-init_ magnitude_"   # at-initialisation masks from scratch
  "studies/saliency.yaml|scratch|"                      # SNIP's batch-count ablation (-b10, -b1)
  "studies/see2016_bpe.yaml|retrain dense-continued|"       # the subword reference
  "studies/budget.yaml|retrain|"                        # the rest of the longer-budget grid
)

lane() {
  for step in "${STEPS[@]}"; do
    IFS='|' read -r study kinds match <<<"$step"
    # shellcheck disable=SC2086  # kinds and match are word lists
    "$NMT" sweep "$study" --only $kinds ${match:+--match $match} ${DEADLINE:+--deadline "$DEADLINE"} \
      --threads 1 --no-progress
  done
}

for i in $(seq 1 "$N"); do
  lane > "$LOGS/lane$i.log" 2>&1 &
  sleep 5  # the lanes start their first cells a moment apart
done
echo "$N lanes running; logs in $LOGS/; stop them with: pkill -f 'nmtprune sweep'"
wait
