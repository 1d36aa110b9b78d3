#!/usr/bin/env bash
# Benchmark: what the request protections (issue 17) cost per request, measured against the same
# binary with them switched off, in one run (the machine is shared and noisy: medians, ratios).
#
#   ops/bench/protection-overhead.sh [SECONDS] [REPS]     (defaults: 10, 5)
#
# One release `registry serve` per configuration and repetition, on a small generated export
# (scale 0.05), the response cache on and warmed; `wrk -t2 -c64` on
#   live   /health/live (the HTTP floor: no database, no cache)
#   cnk    /v1/medicines/cnk/{cnk} over 2,000 random public-pharmacy CNKs (cached answers)
# in three configurations, interleaved per repetition:
#   off       REQUEST_TIMEOUT=0 RATE_LIMIT=0 CLIENT_RATE_LIMIT=0 (no deadline, no limiter)
#   default   the defaults (deadline 45 s; loopback exempt from the per-address limit)
#   limited   the defaults with nothing exempt and a limit far above the load (every request
#             takes a token from its address's bucket)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SECONDS_PER_RUN="${1:-10}"
REPS="${2:-5}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench-protection}"
export REGISTRY_HOME="$WORK/cluster" REGISTRY_DB_PORT=54352
PORT=18091
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"

ops/install-prerequisites.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --scratch-path .build-release --product registry >&2
REGISTRY="$PWD/.build-release/release/registry"
mkdir -p "$WORK"
"$REGISTRY" db start >&2
"$REGISTRY" migrate >&2
if ! psql -Atq "$("$REGISTRY" db url)" -c "SELECT 1 FROM import_run WHERE outcome = 'applied' LIMIT 1" | grep -q 1; then
  [ -f "$WORK/sam/generator.json" ] || "$REGISTRY" generate sam --scale 0.05 --seed 1 --out "$WORK/sam" >&2
  "$REGISTRY" import sam "$WORK/sam" >&2
fi
psql -Atq "$("$REGISTRY" db url)" -c "SELECT '/v1/medicines/cnk/' || split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY random() LIMIT 2000" > "$WORK/cnk-paths.txt"
echo "/health/live" > "$WORK/live-paths.txt"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
RESULTS="$WORK/results.txt"; : > "$RESULTS"
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; "$REGISTRY" db stop >/dev/null 2>&1 || true' EXIT

start() {
  env "$@" "$REGISTRY" serve --port "$PORT" --no-dispatch > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  WRK_PATHS="$WORK/cnk-paths.txt" wrk -t2 -c16 -d3s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
}

for rep in $(seq 1 "$REPS"); do
  for config in off default limited; do
    case $config in
      off) start REQUEST_TIMEOUT=0 RATE_LIMIT=0 CLIENT_RATE_LIMIT=0 ;;
      default) start ;;
      limited) start RATE_LIMIT_EXEMPT= RATE_LIMIT=10000000/20000000 ;;
    esac
    for kind in live cnk; do
      line=$(WRK_PATHS="$WORK/$kind-paths.txt" wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" -s ops/bench/random-path.lua \
        "http://127.0.0.1:$PORT" | grep '^RESULT')
      echo "rep $rep $config $kind $line" >&2
      echo "$config $kind $(sed 's/.*rps=\([0-9.]*\) p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\) errors=\([0-9]*\) non2xx=\([0-9]*\).*/\1 \2 \3 \4 \5/' <<<"$line")" >> "$RESULTS"
    done
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  done
done

echo
echo "| route | configuration | req/s (median of $REPS) | / off | p50 ms | p99 ms | non-2xx |"
echo "|---|---|---|---|---|---|---|"
for kind in live cnk; do
  base=$(awk -v k="$kind" '$1 == "off" && $2 == k {print $3}' "$RESULTS" | median)
  for config in off default limited; do
    pick() { awk -v c="$config" -v k="$kind" -v f="$1" '$1 == c && $2 == k {print $f}' "$RESULTS" | median; }
    rps=$(pick 3)
    printf "| %s | %s | %.0f | %.3f | %s | %s | %s |\n" "$kind" "$config" "$rps" "$(echo "$rps / $base" | bc -l)" \
      "$(pick 4)" "$(pick 5)" "$(pick 7)"
  done
done
