#!/usr/bin/env bash
# Load test of the HTTP API on loopback with wrk (Debian's package; installed when missing).
#
#   bench/http_load.sh [seconds per run, default 20]
#
# Builds the release binary, makes a demo lake (2,000 customers × 90 days), adds a user with a
# token, starts `gridmark serve`, and runs wrk (2 threads, 64 connections) against:
#   1. GET /api/health                         no token
#   2. GET /api/me                             token checked on every request
#   3. GET /api/tables/customers?limit=10      token, role, scope, a DataFusion query, masking
#   4. GET /api/me while `gridmark import` re-imports every reading of the lake
#   5. GET /api/me with the default rate limits on (how cheap a 429 is)
# Runs 1–4 use --rate-limit 0 (the limiter is for people and scripts, not for this test).
# wrk's full output goes to docs/results/http_load.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release -p gridmark
bin="$PWD/target/release/gridmark"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
lake="$work/lake"
"$bin" demo --customers 2000 --days 90 --dir "$lake" >/dev/null
GRIDMARK_PASSWORD=bench-password-1 "$bin" --data "$lake" users add bench --role admin >/dev/null
token="$("$bin" --data "$lake" users tokens issue bench)"
"$bin" --data "$lake" sql "SELECT * FROM readings" --format csv --out "$work/readings.csv" >/dev/null 2>&1
out=docs/results/http_load.txt
mkdir -p docs/results
{
    echo "# bench/http_load.sh $secs — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(wrk --version 2>&1 | head -1)"
    echo "# lake: demo 2,000 customers × 90 days; wrk -t2 -c64 -d${secs}s --latency"
} >"$out"

serve() {
    "$bin" --data "$lake" serve --addr 127.0.0.1:18080 "$@" 2>"$work/serve.log" &
    for _ in $(seq 1 100); do
        curl -fs http://127.0.0.1:18080/api/health >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the server did not start: $(cat "$work/serve.log")" >&2
    exit 1
}
run() {
    local name="$1"
    shift
    echo "== $name" | tee -a "$out"
    wrk -t2 -c64 -d"${secs}s" --latency "$@" | tee -a "$out"
}

serve --rate-limit 0 --flood-requests 1000000000
run "1 health" http://127.0.0.1:18080/api/health
run "2 me (token)" -H "Authorization: Bearer $token" http://127.0.0.1:18080/api/me
run "3 customers page (token, query, masking)" -H "Authorization: Bearer $token" \
    "http://127.0.0.1:18080/api/tables/customers?limit=10"
(
    started=$(date +%s.%N)
    status=0
    "$bin" --data "$lake" import readings "$work/readings.csv" >"$work/import.log" 2>&1 || status=$?
    echo "import of $(wc -l <"$work/readings.csv") readings lines (exit $status) took $(echo "$(date +%s.%N) - $started" | bc) s" >"$work/import.time"
) &
importer=$!
sleep 1
run "4 me during an import" -H "Authorization: Bearer $token" http://127.0.0.1:18080/api/me
wait "$importer" || true
cat "$work/import.time" | tee -a "$out"
tail -3 "$work/import.log" | tee -a "$out"
kill %1 2>/dev/null || true
wait 2>/dev/null || true
serve
run "5 me with the default limits (50/s per token)" -H "Authorization: Bearer $token" \
    http://127.0.0.1:18080/api/me
echo "security alerts raised: $(wc -l <"$lake/_security/alerts.jsonl" 2>/dev/null || echo 0)" | tee -a "$out"
