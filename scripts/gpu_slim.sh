#!/usr/bin/env bash
# Make the working tree small enough to travel to a lent GPU machine, and put it back afterwards.
#
# The device tool copies the tracked (and untracked, not ignored) files, at most 64 MiB; this repository
# is about 130 MB, mostly the three reference models and the videos. `on MODEL...` takes everything a
# sweep does not read, and every reference model but those named, out of git's index (the files stay on
# disk) and ignores them in .git/info/exclude, so they do not travel; `off` restores index and exclude
# exactly. Never commit between `on` and `off`: the index holds their removal.
#
#   scripts/gpu_slim.sh on multi30k-en-de        # also fetches .whl/sacremoses (the GPU image lacks it)
#                                                # then: the device call (scripts/gpu_lanes.sh there)
#   scripts/gpu_slim.sh off
#   scripts/gpu_slim.sh size                     # MiB that would travel now
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.git/nmtprune-slim
EXCLUDE=.git/info/exclude
mkdir -p .git/info
MARK="# nmtprune gpu_slim (scripts/gpu_slim.sh off removes these lines)"

travel_mib() {  # tracked files present on disk + untracked files that are not ignored
  { git ls-files -z; git ls-files -z --others --exclude-standard; } |
    xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {printf "%.1f\n", s / 1048576}'
}

case "${1:-}" in
  on)
    shift
    [ -e "$STATE" ] && { echo "gpu_slim: already on ($STATE); run 'scripts/gpu_slim.sh off' first" >&2; exit 2; }
    [ $# -ge 1 ] || { echo "usage: scripts/gpu_slim.sh on MODEL... (folders under models/)" >&2; exit 2; }
    for m in "$@"; do
      [ -d "models/$m" ] || { echo "gpu_slim: no models/$m; models: $(ls models | tr '\n' ' ')" >&2; exit 2; }
    done
    git diff --cached --quiet || { echo "gpu_slim: the index has staged changes; commit or unstage them first" >&2; exit 2; }
    drop=(docs reports tests benchmarks)
    for m in models/*/; do
      m=${m%/}
      keep=0
      for k in "$@"; do [ "$m" = "models/$k" ] && keep=1; done
      [ $keep = 1 ] || drop+=("$m")
    done
    # the GPU image lacks sacremoses: carry its wheel (.whl/, ignored; name it in the call's carry)
    grep -qx '/.whl/' "$EXCLUDE" 2>/dev/null || echo /.whl/ >> "$EXCLUDE"
    ls .whl/sacremoses-*.whl >/dev/null 2>&1 || python3 -m pip download -q --no-deps --only-binary=:all: \
      --python-version 3.12 --implementation cp --platform manylinux2014_x86_64 -d .whl sacremoses==0.2.0 \
      || { echo "gpu_slim: could not download the sacremoses wheel into .whl/" >&2; exit 1; }
    printf '%s\n' "${drop[@]}" > "$STATE"
    git rm -r -q --cached -- "${drop[@]}"
    { echo "$MARK"; printf '/%s/\n' "${drop[@]}"; } >> "$EXCLUDE"
    echo "gpu_slim on: left out ${drop[*]}; $(travel_mib) MiB would travel (limit 64)"
    ;;
  off)
    [ -e "$STATE" ] || { echo "gpu_slim: not on"; exit 0; }
    mapfile -t drop < "$STATE"
    git reset -q -- "${drop[@]}"
    # drop our block from the exclude file: the mark line and the lines after it that we wrote
    awk -v mark="$MARK" -v n="${#drop[@]}" '$0 == mark {skip = n; next} skip > 0 {skip--; next} {print}' \
      "$EXCLUDE" > "$EXCLUDE.tmp" && mv "$EXCLUDE.tmp" "$EXCLUDE"
    rm -f "$STATE"
    git diff --cached --quiet || { echo "gpu_slim: the index still differs from HEAD; see git status" >&2; exit 1; }
    echo "gpu_slim off: index and exclude restored; $(travel_mib) MiB"
    ;;
  size)
    echo "$(travel_mib) MiB would travel (limit 64)"
    ;;
  *)
    echo "usage: scripts/gpu_slim.sh on MODEL... | off | size" >&2; exit 2
    ;;
esac
