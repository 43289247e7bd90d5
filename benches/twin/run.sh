#!/usr/bin/env bash
# calibrate on a 7-day bundle at 15-s steps (40,321 points x 20 series) and backtest one day,
# three rounds each, release build. The goals: calibrate under 10 s, backtest under 5 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 benches/twin/make_bundle.py 7 "$work/b7"
python3 benches/twin/make_bundle.py 1 "$work/b1"
bin=target/release/scaletwin
for round in 1 2 3; do
  /usr/bin/time -f "round $round: calibrate 7 days: %e s wall, %M KB peak" \
    "$bin" calibrate "$work/b7" --model tests/data/twin/guess -o "$work/model" > /dev/null
  /usr/bin/time -f "round $round: backtest 1 day: %e s wall, %M KB peak" \
    "$bin" backtest "$work/b1" --model "$work/model" -o "$work/bt" > /dev/null
done
