#!/usr/bin/env bash
# Side by side: scaletwin's engine and SimPy on the same M/M/4 model (utilization 0.8),
# in one invocation. Installs SimPy with pip into a virtual environment outside the clone.
#
#   bash benches/peers/run.sh [SIMULATED_SECONDS_FOR_SIMPY]
set -euo pipefail
cd "$(dirname "$0")/../.."
SIMPY_S=${1:-100000}
OURS_S=$((SIMPY_S * 100))
VENV=${SCALETWIN_PEERS_VENV:-$HOME/.cache/scaletwin-peers/venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q simpy
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scaletwin-target}"
cargo build --release -q
BIN="$CARGO_TARGET_DIR/release/scaletwin"
out=$(mktemp -d)
start=$(date +%s.%N)
"$BIN" simulate --model models/oracles/mmc-4 --duration "$OURS_S" --out "$out" > /dev/null
end=$(date +%s.%N)
ours=$(python3 - "$out/outcome.json" "$start" "$end" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
d = o["deployments"][0]
wall = float(sys.argv[3]) - float(sys.argv[2])
print(json.dumps({"peer": "scaletwin", "requests": d["succeeded"], "simulated_s": o["duration_s"], "wall_s": wall,
                  "requests_per_s": d["succeeded"] / wall, "mean_wait_s": d["latency_ms"]["mean"] / 1000 - 1.0}))
PY
)
peer=$("$VENV/bin/python" benches/peers/mmc_simpy.py "$SIMPY_S" 1)
rm -rf "$out"
echo "$ours"
echo "$peer"
python3 - "$ours" "$peer" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"| engine | requests | wall s | requests/s | mean wait s (theory 0.7455) |")
print(f"|---|---|---|---|---|")
for r in (a, b):
    print(f"| {r['peer']} | {r['requests']:,} | {r['wall_s']:.2f} | {r['requests_per_s']:,.0f} | {r['mean_wait_s']:.4f} |")
print(f"\nscaletwin / SimPy throughput: {a['requests_per_s'] / b['requests_per_s']:.0f}x")
PY
