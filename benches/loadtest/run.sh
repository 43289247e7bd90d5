#!/usr/bin/env bash
# The load tester against wrk, side by side: the same trivial server (examples/hello_server,
# pinned to CPU 1), the same connection count, each client pinned to CPU 0 (one core).
# Usage: bash benches/loadtest/run.sh [CONNECTIONS] [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${1:-64}
D=${2:-10}
ROUNDS=${3:-3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scaletwin-target}"
if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo build --release --quiet --bin scaletwin --example hello_server
R="$CARGO_TARGET_DIR/release"
ADDR=127.0.0.1:18181
taskset -c 1 "$R/examples/hello_server" "$ADDR" $(( (D + 2) * ROUNDS * 2 + 10 )) &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1
echo "connections $C, $D s per run, $ROUNDS rounds, client on CPU 0, server on CPU 1"
printf '%-6s %14s %14s %8s\n' round scaletwin wrk ratio
for i in $(seq 1 "$ROUNDS"); do
  ours=$(taskset -c 0 "$R/scaletwin" loadtest --target "http://$ADDR" --users "$C" --think 0 \
    --duration "$D" --max-requests 1000000000 --metrics-listen off --quiet -o /tmp/scaletwin-bench-lt \
    | awk '/^throughput/ {print $2}')
  theirs=$(taskset -c 0 wrk -t1 -c"$C" -d"${D}s" "http://$ADDR/" | awk '/^Requests\/sec/ {print $2}')
  printf '%-6s %14.0f %14.0f %8.3f\n' "$i" "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
done
