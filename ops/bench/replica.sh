#!/usr/bin/env bash
# Benchmark: API nodes on a hot standby against a node on the primary, in one run.
#
#   ops/bench/replica.sh [SCALE] [SECONDS] [REPS] [IMPORTS]   (defaults: 0.1, 12, 3, 20)
#
# Sets up, under $BENCH_DIR/replica (default /var/tmp/registry-bench/replica): a primary embedded
# cluster (port 55441) with a generated SAM export of SCALE imported, and a hot standby of it made
# by `registry db standby` (pg_basebackup -R, port 55442). Then:
#   lookups    per repetition, interleaved: `registry serve` reading from the primary, then one
#              reading from the standby (DATABASE_READ_URL), each with the response cache off
#              (--cache-mb 0) and on (warmed), wrk -t2 -c64 on 3,000 random public-pharmacy CNKs
#   freshness  IMPORTS successive generated deltas (50 changes each) imported on the primary while
#              ops/bench/replica_freshness.py polls, every 5 ms, the primary (newest applied run)
#              and the standby-backed node (the run a cached CNK answer names): the lag from the
#              commit being visible on the primary to the node's first answer from the new run
# Prints medians and ratios (standby / primary) and the freshness p50 / p99 / max.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SCALE="${1:-0.1}"
SECONDS_PER_RUN="${2:-12}"
REPS="${3:-3}"
IMPORTS="${4:-20}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}/replica"
mkdir -p "$WORK"
. ops/secret-key.sh
registry_secret_key "$WORK"
python3 -c "import psycopg" 2>/dev/null || python3 -m pip install -q --root-user-action=ignore "psycopg[binary]==3.2.3"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --scratch-path .build-release --product registry >&2
REGISTRY="$PWD/.build-release/release/registry"
cluster() { REGISTRY_HOME="$WORK/$1" REGISTRY_DB_PORT="$2" "$REGISTRY" "${@:3}"; }
cluster primary 55441 db start >&2
PRIMARY="$(cluster primary 55441 db url)"
DATABASE_URL="$PRIMARY" "$REGISTRY" migrate >/dev/null
DATA="${BENCH_DIR:-/var/tmp/registry-bench}/sam-$SCALE"
[ -f "$DATA/generator.json" ] || "$REGISTRY" generate sam --scale "$SCALE" --seed 1 --out "$DATA" >&2
if ! psql -Atq "$PRIMARY" -c "SELECT 1 FROM import_run WHERE outcome = 'applied' LIMIT 1" | grep -q 1; then
  DATABASE_URL="$PRIMARY" "$REGISTRY" import sam "$DATA" > "$WORK/import.log" 2>&1
  psql -q "$PRIMARY" -c "VACUUM ANALYZE"
fi
cluster standby 55442 db standby --primary-home "$WORK/primary" --primary-port 55441 >&2
STANDBY="$(cluster standby 55442 db url)"
psql -Atq "$PRIMARY" -c "SELECT '/v1/medicines/cnk/' || split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY random() LIMIT 3000" > "$WORK/cnk-paths.txt"

PORT=18095
SERVER=""
trap '[ -n "$SERVER" ] && kill -9 $SERVER 2>/dev/null; true' EXIT
start() { # READ_URL CACHE_MB
  DATABASE_URL="$PRIMARY" DATABASE_READ_URL="$1" REGISTRY_SECRET_KEY="$REGISTRY_SECRET_KEY" \
    "$REGISTRY" serve --port "$PORT" --pool-size 32 --cache-mb "$2" --no-dispatch --no-sync --warm-paths 0 \
    > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  WRK_PATHS="$WORK/cnk-paths.txt" wrk -t2 -c16 -d4s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
}
stop() { kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
RESULTS="$WORK/results.txt"; : > "$RESULTS"
for rep in $(seq 1 "$REPS"); do
  for cache in 0 256; do
    for reads in primary standby; do
      url=""; [ "$reads" = standby ] && url="$STANDBY"
      start "$url" "$cache"
      line=$(WRK_PATHS="$WORK/cnk-paths.txt" wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" -s ops/bench/random-path.lua \
        "http://127.0.0.1:$PORT" | grep '^RESULT')
      stop
      echo "rep $rep cache $cache $reads $line" >&2
      echo "$reads-$cache $(sed 's/.*rps=\([0-9.]*\).*p50_ms=\([0-9.]*\).*p99_ms=\([0-9.]*\).*/\1 \2 \3/' <<<"$line")" >> "$RESULTS"
    done
  done
done

# Freshness: deltas generated one from the other (each 50 changes), imported on the primary.
start "$STANDBY" 256
previous="$DATA"
LAGS="$WORK/freshness.txt"; : > "$LAGS"
CNK="$(head -1 "$WORK/cnk-paths.txt")"
for i in $(seq 1 "$IMPORTS"); do
  next="$WORK/delta-$i"
  [ -f "$next/generator.json" ] || "$REGISTRY" generate sam --from "$previous" --changes 50 --seed "$i" --out "$next" >/dev/null 2>&1
  python3 ops/bench/replica_freshness.py "$PRIMARY" "http://127.0.0.1:$PORT$CNK" >> "$LAGS" &
  watcher=$!
  sleep 0.3
  DATABASE_URL="$PRIMARY" "$REGISTRY" import sam --max-delete-share 1 "$next" > "$WORK/delta-import.log" 2>&1
  wait "$watcher"
  echo "import $i: $(tail -1 "$LAGS")" >&2
  previous="$next"
done
stop

pick() { awk -v k="$1" -v c="$2" '$1 == k {print $c}' "$RESULTS" | median; }
echo
echo "| response cache | reads from | CNK req/s | standby / primary | p50 / p99 ms |"
echo "|---|---|---|---|---|"
for cache in 0 256; do
  label="off"; [ "$cache" != 0 ] && label="256 MiB"
  p=$(pick "primary-$cache" 2); s=$(pick "standby-$cache" 2)
  printf "| %s | primary | %.0f | | %s / %s |\n" "$label" "$p" "$(pick "primary-$cache" 3)" "$(pick "primary-$cache" 4)"
  printf "| %s | standby | %.0f | %.2f | %s / %s |\n" "$label" "$s" "$(echo "$s / $p" | bc -l)" \
    "$(pick "standby-$cache" 3)" "$(pick "standby-$cache" 4)"
done
echo
sort -n "$LAGS" | awk '{a[NR]=$1} END {
  p50 = a[int((NR + 1) / 2)]; i99 = int(NR * 0.99 + 0.999); if (i99 > NR) i99 = NR
  printf "freshness over %d imports: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", NR, p50, a[i99], a[NR] }'
