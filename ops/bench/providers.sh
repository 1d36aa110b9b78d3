#!/usr/bin/env bash
# Benchmark: healthcare-actor import (generated CoBRHA snapshots + practice register at SCALE,
# plus the real AFMPS pharmacies when ../shared is present) and the practice search under wrk.
#
#   ops/bench/providers.sh [SCALE] [SECONDS] [REPS]     (defaults: 1.0, 15, 3; IMPORT_REPS=N for the import part)
#
# Import, per repetition on a fresh database: `registry import cobrha`, `import practices`,
# `import pharmacies`, each under /usr/bin/time (wall time, peak RSS); baseline in the same run:
# psql \copy of the same practices.csv into an unindexed table (the floor of getting the bytes
# into PostgreSQL). Search, per repetition: pgbench -S -M prepared -c 32 (one indexed read, the
# database's own ceiling on this machine) and wrk -t2 -c32 on a mix of practice searches:
#   name      /v1/practices?name={a real family name with one letter dropped}
#   radius    /v1/practices?profession={a profession}&near={random postcode}&radius_km=10
#   both      name + profession + near + radius_km=10
# in three server configurations (below): answered by PostgreSQL, by the in-memory snapshot, and
# by the snapshot plus the response cache (after a 5 s warm-up over the mix).
# Medians (and their ratio to pgbench) are printed as a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SCALE="${1:-1.0}"
SECONDS_PER_RUN="${2:-15}"
REPS="${3:-3}"
IMPORT_REPS="${IMPORT_REPS:-$REPS}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"  # serve/dispatch encrypt webhook secrets at rest
export REGISTRY_DB_PORT=54350
PORT=18091
AFMPS="../shared/reference/providers/afmps-pharmacies_last-pharmacies_afmps.json"

ops/install-prerequisites.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
swift build -c release --scratch-path .build-release --product registry >&2
REGISTRY="$PWD/.build-release/release/registry"
mkdir -p "$WORK"
"$REGISTRY" db start >&2
ADMIN="$("$REGISTRY" db url | sed 's#/registry$#/postgres#')"
SERVER=""
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; true' EXIT

DATA="$WORK/cobrha-$SCALE"
[ -f "$DATA/practices.csv" ] || "$REGISTRY" generate cobrha --scale "$SCALE" --seed 1 --out "$DATA" >&2
if ! psql -Atq "$ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = 'pgbench_base'" | grep -q 1; then
  psql -q "$ADMIN" -c "CREATE DATABASE pgbench_base"
  pgbench -q -i -s 10 "${ADMIN%/postgres}/pgbench_base" >&2
fi

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
RESULTS="$WORK/providers-results.txt"; : > "$RESULTS"
DB="providers_${SCALE//./_}"
export DATABASE_URL="${ADMIN%/postgres}/$DB"

timed() { # name command...: appends "name seconds peak_rss_mib"
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/providers-$name.log" 2>&1
  read -r secs kib < "$WORK/time.txt"
  echo "import $name $secs $((kib / 1024))" >> "$RESULTS"
  echo "  $name: $secs s, peak RSS $((kib / 1024)) MiB" >&2
}

for rep in $(seq 1 "$IMPORT_REPS"); do
  echo "rep $rep: import" >&2
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  "$REGISTRY" migrate >/dev/null
  # Baseline: the practice register's bytes into an unindexed table.
  start=$(date +%s.%N)
  psql -q "$DATABASE_URL" -c "CREATE UNLOGGED TABLE copy_floor (line text)" \
    -c "\\copy copy_floor FROM '$DATA/practices.csv' WITH (FORMAT text, DELIMITER E'\\x01')"
  echo "import copy-floor $(echo "$(date +%s.%N) - $start" | bc -l) 0" >> "$RESULTS"
  psql -q "$DATABASE_URL" -c "DROP TABLE copy_floor"
  timed cobrha "$REGISTRY" import cobrha "$DATA"
  timed practices "$REGISTRY" import practices "$DATA"
  [ -f "$AFMPS" ] && timed pharmacies "$REGISTRY" import pharmacies "$AFMPS"
  timed cobrha-again "$REGISTRY" import cobrha "$DATA"
done
psql -q "$DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null
practices=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM practice")
professionals=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM professional")

# Query mix: real family names with one letter dropped (a typo), real professions, random postcodes
# (names unaccented and percent-encoded for the request line; matching folds accents anyway).
psql -Atq "$DATABASE_URL" > "$WORK/search-name.txt" <<'SQL'
SELECT '/v1/practices?name=' || replace(replace(overlay(n PLACING '' FROM 2 + (random() * (length(n) - 2))::int FOR 1), ' ', '%20'), '''', '%27')
FROM (SELECT unaccent(family_name) AS n FROM practice_search WHERE length(family_name) >= 5 ORDER BY random() LIMIT 3000) s
SQL
psql -Atq "$DATABASE_URL" > "$WORK/search-radius.txt" <<'SQL'
SELECT '/v1/practices?profession=' || p.profession || '&near=' || c.postcode || '&radius_km=10'
FROM (SELECT profession FROM practice_search WHERE profession IS NOT NULL ORDER BY random() LIMIT 3000) p
JOIN LATERAL (SELECT postcode FROM practice_search WHERE p.profession IS NOT NULL ORDER BY random() LIMIT 1) c ON true
SQL
psql -Atq "$DATABASE_URL" > "$WORK/search-both.txt" <<'SQL'
SELECT '/v1/practices?name=' || replace(replace(unaccent(family_name), ' ', '%20'), '''', '%27') || '&profession=' || profession || '&near=' || postcode || '&radius_km=10'
FROM (SELECT family_name, profession, postcode FROM practice_search WHERE profession IS NOT NULL AND family_name IS NOT NULL
      ORDER BY random() LIMIT 3000) s
SQL
cat "$WORK/search-name.txt" "$WORK/search-radius.txt" "$WORK/search-both.txt" | shuf > "$WORK/search-mix.txt"

# Three server configurations, each measured in the same run:
#   database      every search answered by PostgreSQL (PRACTICE_SEARCH_MEMORY=off), no response cache
#   memory        every search answered by the in-memory snapshot, no response cache
#   memory-cache  the default: the snapshot, and repeated searches from the response cache (256 MiB)
for MODE in database memory memory-cache; do
  memory=on; cache=0
  [ "$MODE" = database ] && memory=off
  [ "$MODE" = memory-cache ] && cache=256
  LOG_LEVEL=info PRACTICE_SEARCH_MEMORY=$memory "$REGISTRY" serve --port "$PORT" --pool-size 32 --cache-mb "$cache" \
    --no-dispatch > "$WORK/providers-serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  if [ "$memory" = on ]; then
    for _ in $(seq 1 600); do grep -q "practice search loaded in memory" "$WORK/providers-serve.log" && break; sleep 0.5; done
    load=$(grep -o 'duration=[0-9.]* seconds' "$WORK/providers-serve.log" | head -1 | grep -o '[0-9.]*')
    echo "snapshot load $load $(( $(ps -o rss= -p "$SERVER") / 1024 ))" >> "$RESULTS"
    echo "  snapshot loaded in $load s, server RSS $(( $(ps -o rss= -p "$SERVER") / 1024 )) MiB" >&2
  fi
  # Warm-up (and, with the response cache on, a first pass over part of the query mix).
  WRK_PATHS="$WORK/search-mix.txt" wrk -t2 -c32 -d5s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
  for rep in $(seq 1 "$REPS"); do
    if [ "$MODE" = database ]; then
      tps=$(pgbench -S -M prepared -c 32 -j 2 -T "$SECONDS_PER_RUN" -n "${ADMIN%/postgres}/pgbench_base" 2>/dev/null \
        | awk '/^tps/ {print $3; exit}')
      echo "search pgbench $tps 0 0" >> "$RESULTS"
    fi
    for kind in mix name radius both; do
      line=$(WRK_PATHS="$WORK/search-$kind.txt" wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -s ops/bench/random-path.lua \
        "http://127.0.0.1:$PORT" | grep '^RESULT')
      echo "rep $rep $MODE $kind $line" >&2
      rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$line")
      p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
      p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$line")
      echo "search $kind-$MODE $rps $p50 $p99" >> "$RESULTS"
    done
  done
  echo "server rss-$MODE $(( $(ps -o rss= -p "$SERVER") / 1024 ))" >> "$RESULTS"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
done

pick() { awk -v a="$1" -v b="$2" '$1 == a && $2 == b {print $c}' c="$3" "$RESULTS" | median; }
echo
echo "Scale $SCALE: $professionals professionals, $practices practices."
echo
echo "| import step | median s | peak RSS MiB |"
echo "|---|---|---|"
for step in copy-floor cobrha practices pharmacies cobrha-again; do
  grep -q "^import $step " "$RESULTS" || continue
  s=$(pick import "$step" 3)
  echo "| $step | $s | $(pick import "$step" 4) |"
done
tps=$(pick search pgbench 3)
echo
echo
echo "In-memory snapshot: loaded in $(pick snapshot load 3) s; server RSS after loading $(pick snapshot load 4) MiB."
echo
echo "| searches (wrk -c32) | answered by | req/s | × database | / pgbench -S ($tps tps) | p50 ms | p99 ms | server RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
for MODE in database memory memory-cache; do
  for kind in mix name radius both; do
    rps=$(pick search "$kind-$MODE" 3)
    base=$(pick search "$kind-database" 3)
    printf "| %s | %s | %.0f | %.1f | %.3f | %s | %s | %s |\n" "$kind" "$MODE" "$rps" "$(echo "$rps / $base" | bc -l)" \
      "$(echo "$rps / $tps" | bc -l)" "$(pick search "$kind-$MODE" 4)" "$(pick search "$kind-$MODE" 5)" \
      "$(pick server "rss-$MODE" 3)"
  done
done
