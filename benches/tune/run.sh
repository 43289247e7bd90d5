#!/usr/bin/env bash
# Measure the tune performance goal: the 1,000-configuration sweep of nasa-1000.yaml on
# 2 threads (wall time, peak memory) and on 1 thread (the speed-up), and a tenth of it
# (100 configurations, shard 0/10 of the first rung) for memory against the count.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scaletwin-target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/scaletwin"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# The trace's first day (86,400 one-second bins) as plain counts, and the experiment
# pointing at it.
trace=../shared/traces/nasa-http-1995-07-09_to_15.per-second.csv
awk -F, 'NR > 1 && NR <= 86401 { print $2 }' "$trace" > "$out/nasa-day.counts"
sed -e "s#^model: .*#model: $PWD/models/amas#" \
    -e "s#^      path: .*#      path: $out/nasa-day.counts#" \
    -e "/^      from_s: 0$/d" -e "/^      to_s: 86400$/d" \
    benches/tune/nasa-1000.yaml > "$out/nasa-1000.yaml"
exp="$out/nasa-1000.yaml"
measure() { # key, label, then the command
  local key=$1 label=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$out/time" "$@" > "$out/$key.log" 2>&1
  read -r secs kb < "$out/time"
  awk -v l="$label" -v s="$secs" -v k="$kb" 'BEGIN { printf "%-34s %8.1f s %8.1f MB peak\n", l, s, k / 1024 }'
  echo "$secs" > "$out/$key.secs"
}
measure two "1000 configurations, 2 threads" "$bin" tune "$exp" --threads 2 -o "$out/two" --fresh
grep -E "^rung|^baseline|^extra-load|^Recommended|^No |^Fluid" "$out/two.log" || true
measure one "1000 configurations, 1 thread" "$bin" tune "$exp" --threads 1 -o "$out/one" --fresh
measure tenth "100 configurations (shard 0/10)" "$bin" tune "$exp" --shard 0/10 -o "$out/tenth" --fresh
awk -v a="$(cat "$out/one.secs")" -v b="$(cat "$out/two.secs")" 'BEGIN { printf "speed-up 1 -> 2 threads: %.2fx\n", a / b }'
