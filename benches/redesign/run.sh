#!/usr/bin/env bash
# Before and after, side by side in one run: builds a base revision (default: the last
# commit before the redesign) and the working tree in release, then
#  1. checks that the outputs users rely on are byte-identical: `simulate` of the embedded
#     AMAS day (outcome.json, timeseries.csv, decisions.jsonl), `simulate --fluid` of the
#     same day (its figures, without the elapsed time), and the main job's configs.csv and
#     analysis.json;
#  2. times the main job's sweep (the sum of its rungs) with both binaries;
#  3. runs the engine's M/M/4 kernel benchmark (criterion) in both trees.
# Usage: bash benches/redesign/run.sh [BASE_REV]
# BASE_TARGET_DIR / CARGO_TARGET_DIR choose the two build folders (defaults under ~/.cache).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$(pwd)
base_rev=${1:-661bebb}
new_target=${CARGO_TARGET_DIR:-$HOME/.cache/scaletwin-target}
base_target=${BASE_TARGET_DIR:-$HOME/.cache/scaletwin-target-base}
work=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/base" "$base_rev" >/dev/null

echo "== building $base_rev and the working tree (release)"
(cd "$work/base" && CARGO_TARGET_DIR=$base_target cargo build --release --quiet)
CARGO_TARGET_DIR=$new_target cargo build --release --quiet
bins=("$base_target/release/scaletwin" "$new_target/release/scaletwin")
names=(base new)

same=1
for k in 0 1; do
  b=${bins[$k]}; o="$work/out-${names[$k]}"; mkdir -p "$o"
  (cd "$here" && "$b" simulate -o "$o/simulate" >/dev/null)
  (cd "$here" && "$b" simulate --fluid | sed -E 's/, [0-9.]+ s\):/):/' >"$o/fluid.txt")
  (cd "$here" && "$b" tune -o "$o/tune" --fresh >"$o/tune.out" 2>"$o/tune.err")
done
echo "== byte-identical outputs"
for f in simulate/outcome.json simulate/timeseries.csv simulate/decisions.jsonl fluid.txt \
  tune/configs.csv tune/analysis.json; do
  if cmp -s "$work/out-base/$f" "$work/out-new/$f"; then
    echo "  same       $f"
  else
    echo "  DIFFERENT  $f"; same=0
  fi
done

echo "== main job sweep (sum of the rungs' evaluation time)"
for k in 0 1; do
  s=$(grep -Eo 'evaluations in [0-9.]+ s' "$work/out-${names[$k]}/tune.err" | awk '{t += $3} END {printf "%.1f", t}')
  echo "  ${names[$k]}: $s s"
  grep -E 'evaluations in [0-9.]+ s' "$work/out-${names[$k]}/tune.err" | sed 's/^/      /'
  eval "sweep_${names[$k]}=$s"
done
awk -v a="$sweep_base" -v b="$sweep_new" 'BEGIN { printf "  speed-up: %.2fx\n", a / b }'

echo "== engine M/M/4 kernel (criterion, mmc_kernel)"
(cd "$work/base" && CARGO_TARGET_DIR=$base_target cargo bench --quiet --bench engine -- mmc_kernel 2>/dev/null | grep -E 'time:' | sed 's/^/  base: /')
CARGO_TARGET_DIR=$new_target cargo bench --quiet --bench engine -- mmc_kernel | grep -E 'time:' | sed 's/^/  new:  /'
[ "$same" = 1 ] || { echo "outputs differ"; exit 1; }
