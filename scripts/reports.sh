#!/usr/bin/env bash
# Rewrite every study's report and the README's results tables from the committed results/. Run it after
# a sweep cell lands, then commit results/, reports/ and README.md together (the commit message names the
# sweep command and the commit it ran at). It only reads results/: nothing here trains or evaluates.
#
#   scripts/reports.sh                 # all studies with results, then README.md's generated tables
#   scripts/reports.sh saliency units  # only these studies' reports, then README.md's tables
set -euo pipefail
cd "$(dirname "$0")/.."
NMT="${NMTPRUNE:-.venv/bin/nmtprune}"
if [ $# -gt 0 ]; then names=("$@"); else names=(); for s in studies/*.yaml; do names+=("$(basename "$s" .yaml)"); done; fi
for name in "${names[@]}"; do
  if [ ! -f "studies/$name.yaml" ]; then echo "scripts/reports.sh: no study studies/$name.yaml" >&2; exit 2; fi
  if [ ! -d "results/$name" ]; then echo "skip $name: no results/$name/ yet"; continue; fi
  echo "== report $name"
  "$NMT" report "studies/$name.yaml"
done
echo "== README.md results tables"
"$NMT" report --readme README.md
