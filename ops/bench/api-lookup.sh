#!/usr/bin/env bash
# Benchmark: HTTP lookups and search against the registry loaded at one or more scales, with
# `pgbench -S -M prepared` against the same PostgreSQL in the same run as the baseline for
# "one indexed read through the database".
#
#   ops/bench/api-lookup.sh [SCALES] [SECONDS] [REPS]     (defaults: "0.1 1.0", 15, 3)
#
# Per scale: a database loaded once with the generated export (ops/bench/sam-import.sh's data),
# `registry serve` (release) with the response cache off (--cache-mb 0: every answer from
# PostgreSQL) and on (256 MiB, warmed by a 5 s run), then per repetition:
#   pgbench   pgbench -S -M prepared -c 64 -j 2 -T SECONDS (pgbench scale 10, own database)
#   cnk       wrk -t2 -c64 on /v1/medicines/cnk/{cnk} with 10,000 random public-pharmacy CNKs
#   search64  wrk -t2 -c64 on /v1/medicines?q={3-6 letter prefix of a real name}&limit=20
#   search8   the same with 8 connections (latency without queueing behind 64 clients)
# Medians over the repetitions are printed as a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SCALES="${1:-0.1 1.0}"
SECONDS_PER_RUN="${2:-15}"
REPS="${3:-3}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"  # serve/dispatch encrypt webhook secrets at rest
export REGISTRY_DB_PORT=54350
PORT=18090

ops/install-prerequisites.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --scratch-path .build-release --product registry >&2
REGISTRY="$PWD/.build-release/release/registry"
mkdir -p "$WORK"
"$REGISTRY" db start >&2
ADMIN="$("$REGISTRY" db url | sed 's#/registry$#/postgres#')"
SERVER=""
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; true' EXIT

if ! psql -Atq "$ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = 'pgbench_base'" | grep -q 1; then
  psql -q "$ADMIN" -c "CREATE DATABASE pgbench_base"
  pgbench -q -i -s 10 "${ADMIN%/postgres}/pgbench_base" >&2
fi

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
RESULTS="$WORK/api-results.txt"; : > "$RESULTS"

for SCALE in $SCALES; do
  DATA="$WORK/sam-$SCALE"
  [ -f "$DATA/generator.json" ] || "$REGISTRY" generate sam --scale "$SCALE" --seed 1 --out "$DATA" >&2
  DB="api_${SCALE//./_}"
  export DATABASE_URL="${ADMIN%/postgres}/$DB"
  if ! psql -Atq "$ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    psql -q "$ADMIN" -c "CREATE DATABASE $DB"
  fi
  "$REGISTRY" migrate >/dev/null
  if ! psql -Atq "$DATABASE_URL" -c "SELECT 1 FROM import_run WHERE outcome = 'applied' LIMIT 1" | grep -q 1; then
    "$REGISTRY" import sam "$DATA" > "$WORK/api-import-$SCALE.log" 2>&1
  fi
  psql -q "$DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null
  entities=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM sam_entity")
  psql -Atq "$DATABASE_URL" -c "SELECT '/v1/medicines/cnk/' || split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY random() LIMIT 10000" > "$WORK/cnk-paths.txt"
  psql -Atq "$DATABASE_URL" -c "SELECT '/v1/medicines?limit=20&q=' || left(split_part(name_norm, ' ', 1), 3 + (random() * 3)::int) FROM (SELECT name_norm FROM sam_search_entry WHERE name_norm ~ '^[a-z]{6}' ORDER BY random() LIMIT 2000) s" > "$WORK/search-paths.txt"

  for CACHE in 0 256; do
    "$REGISTRY" serve --port "$PORT" --pool-size 32 --cache-mb "$CACHE" > "$WORK/api-serve.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
    # Warm-up: caches of both processes (and the response cache when on).
    WRK_PATHS="$WORK/cnk-paths.txt" wrk -t2 -c16 -d5s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
    WRK_PATHS="$WORK/search-paths.txt" wrk -t2 -c8 -d5s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
    for rep in $(seq 1 "$REPS"); do
      if [ "$CACHE" = 0 ]; then
        tps=$(pgbench -S -M prepared -c 64 -j 2 -T "$SECONDS_PER_RUN" -n "${ADMIN%/postgres}/pgbench_base" 2>/dev/null \
          | awk '/^tps/ {print $3; exit}')
        echo "$SCALE pgbench $tps 0 0" >> "$RESULTS"
        echo "rep $rep scale $SCALE pgbench tps=$tps" >&2
      fi
      for kind in cnk:64 search64:64 search8:8; do
        name=${kind%%:*}; connections=${kind##*:}
        paths="$WORK/search-paths.txt"; [ "$name" = cnk ] && paths="$WORK/cnk-paths.txt"
        line=$(WRK_PATHS="$paths" wrk -t2 -c"$connections" -d"${SECONDS_PER_RUN}s" -s ops/bench/random-path.lua \
          "http://127.0.0.1:$PORT" | grep '^RESULT')
        echo "rep $rep scale $SCALE cache $CACHE $name $line" >&2
        rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$line")
        p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
        p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$line")
        echo "$SCALE $name-c$CACHE $rps $p50 $p99" >> "$RESULTS"
      done
    done
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  done
  echo "$SCALE entities $entities" >> "$RESULTS"
done

echo
echo "| scale | entities | response cache | pgbench -S tps | CNK req/s | CNK / pgbench | CNK p50 ms | CNK p99 ms | search req/s (64 conn) | search p50 / p99 ms (64 conn) | search p50 / p99 ms (8 conn) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for SCALE in $SCALES; do
  for CACHE in 0 256; do
    pick() { awk -v s="$SCALE" -v k="$1" -v c="$2" '$1 == s && $2 == k {print $c}' "$RESULTS" | median; }
    tps=$(pick pgbench 3); rps=$(pick "cnk-c$CACHE" 3)
    label="off"; [ "$CACHE" != 0 ] && label="${CACHE} MiB"
    printf "| %s | %s | %s | %.0f | %.0f | %.3f | %s | %s | %.0f | %s / %s | %s / %s |\n" "$SCALE" \
      "$(awk -v s="$SCALE" '$1 == s && $2 == "entities" {print $3}' "$RESULTS")" "$label" "$tps" "$rps" \
      "$(echo "$rps / $tps" | bc -l)" "$(pick "cnk-c$CACHE" 4)" "$(pick "cnk-c$CACHE" 5)" "$(pick "search64-c$CACHE" 3)" \
      "$(pick "search64-c$CACHE" 4)" "$(pick "search64-c$CACHE" 5)" "$(pick "search8-c$CACHE" 4)" "$(pick "search8-c$CACHE" 5)"
  done
done
