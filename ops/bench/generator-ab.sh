#!/usr/bin/env bash
# Benchmark: the same release build importing and serving two generated exports of one scale and
# seed, one written by an older generator (OLD_BINARY's `generate sam`) and one by the current
# generator, interleaved in one run: what the schema-complete exports cost (issue 25).
#
#   ops/bench/generator-ab.sh OLD_BINARY [SCALE] [REPS] [SECONDS]   (defaults: 0.3, 3, 10)
#
# Per export: its size and entity count; per repetition, a full import into a fresh database of
# the bench cluster (wall time, peak RSS), then `registry serve --cache-mb 0` under wrk -t2 -c64 on
# 3,000 random public-pharmacy CNKs of that export for SECONDS. Medians of REPS.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
OLD="$1"
SCALE="${2:-0.3}"
REPS="${3:-3}"
SECONDS_PER_RUN="${4:-10}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
export REGISTRY_DB_PORT=54350
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"
swift build -c release --scratch-path .build-release --product registry >&2
NEW="$PWD/.build-release/release/registry"
"$NEW" db start >&2
ADMIN="$("$NEW" db url | sed 's#/registry$#/postgres#')"
export DATABASE_URL="${ADMIN%/postgres}/genab"
PORT=18097
SERVER=""
trap '[ -n "$SERVER" ] && kill -9 $SERVER 2>/dev/null; true' EXIT
for kind in old new; do
  out="$WORK/genab-$kind-$SCALE"
  binary="$OLD"; [ "$kind" = new ] && binary="$NEW"
  rm -rf "$out"
  "$binary" generate sam --scale "$SCALE" --seed 1 --out "$out" >/dev/null 2>&1
  echo "$kind export: $(du -sb "$out" | cut -f1) bytes" >&2
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
RESULTS="$WORK/genab-results.txt"; : > "$RESULTS"
for rep in $(seq 1 "$REPS"); do
  for kind in old new; do
    out="$WORK/genab-$kind-$SCALE"
    psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS genab WITH (FORCE)" -c "CREATE DATABASE genab"
    "$NEW" migrate >/dev/null
    sync
    /usr/bin/time -f "%e %M" -o "$WORK/genab.time" "$NEW" import sam "$out" > "$WORK/genab-import.log" 2>&1
    read -r seconds rss < "$WORK/genab.time"
    entities=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM sam_entity")
    bytes=$(psql -Atq "$DATABASE_URL" -c "SELECT sum(octet_length(document::text)) FROM sam_entity")
    psql -Atq "$DATABASE_URL" -c "SELECT '/v1/medicines/cnk/' || split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY random() LIMIT 3000" > "$WORK/genab-paths.txt"
    "$NEW" serve --port "$PORT" --cache-mb 0 --no-dispatch --no-sync > "$WORK/genab-serve.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
    WRK_PATHS="$WORK/genab-paths.txt" wrk -t2 -c16 -d3s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
    line=$(WRK_PATHS="$WORK/genab-paths.txt" wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" -s ops/bench/random-path.lua \
      "http://127.0.0.1:$PORT" | grep '^RESULT')
    kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$line")
    echo "rep $rep $kind import ${seconds}s rss ${rss}KB entities $entities documents ${bytes}B cnk ${rps}/s" >&2
    echo "$kind $seconds $rss $entities $bytes $rps" >> "$RESULTS"
  done
done
echo
echo "| generator | export bytes | entities | stored document bytes | import s | peak RSS MB | uncached CNK req/s |"
echo "|---|---|---|---|---|---|---|"
for kind in old new; do
  pick() { awk -v k="$kind" -v c="$1" '$1 == k {print $c}' "$RESULTS" | median; }
  printf "| %s | %s | %s | %s | %.1f | %.0f | %.0f |\n" "$kind" "$(du -sb "$WORK/genab-$kind-$SCALE" | cut -f1)" \
    "$(pick 4)" "$(pick 5)" "$(pick 2)" "$(echo "$(pick 3) / 1024" | bc -l)" "$(pick 6)"
done
