#!/usr/bin/env bash
# gridmark's forecasting protocols on the real data, each beside its peer on identical rows
# (bench/forecast_peer.py installs LightGBM and statsforecast into bench/.venv). Writes the
# JSON outputs to docs/results/forecast_*.json. Needs a release build and ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=docs/results
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
GM=target/release/gridmark
[ -x "$GM" ] || cargo build --release
for f in "$DATA/ett/ETTh1.csv" "$DATA/vic_elec/vic_elec.csv" "$DATA/lcl_daily/block_0.csv.gz"; do
  [ -e "$f" ] || { echo "missing $f (the shared data folder)"; exit 1; }
done
timed() { local name=$1; shift; local t0=$(date +%s.%N); "$@"; echo "$name: $(echo "$(date +%s.%N) - $t0" | bc) s" >&2; }

timed ett $GM forecast eval --protocol ett --input "$DATA/ett/ETTh1.csv" --json > $OUT/forecast_ett.json
timed day-ahead $GM forecast eval --protocol day-ahead --input "$DATA/vic_elec/vic_elec.csv" \
  --peer-out "$TMP/vic_table.csv" --json > $OUT/forecast_day_ahead.json
timed day-ahead-peer python3 bench/forecast_peer.py day-ahead "$TMP/vic_table.csv" > $OUT/forecast_day_ahead_lightgbm.json
timed households $GM forecast eval --protocol households --input "$DATA"/lcl_daily/block_*.csv.gz \
  --peer-out "$TMP/lcl_series.csv" --json > $OUT/forecast_households.json
timed households-peer python3 bench/forecast_peer.py households "$TMP/lcl_series.csv" > $OUT/forecast_households_statsforecast.json
echo "wrote $OUT/forecast_*.json" >&2
