#!/usr/bin/env bash
# Benchmark: cold (uncached) CNK lookups against what the database alone can do, in one run.
#
#   ops/bench/cold-cnk.sh [SCALE] [SECONDS] [REPS] [BINARY...]   (defaults: 1.0, 12, 3, the release build)
#
# Per repetition, interleaved so the machine's drift touches all alike, on the database that
# ops/bench/api-lookup.sh loads (api_<scale>, same cluster):
#   pgbench-S   pgbench -S -M prepared -c 64 -j 2: one indexed single-row read (the issue's baseline)
#   cnk-query   pgbench -M prepared -c 64 -j 2 running the CNK lookup's own statement (DMPP, AMPP,
#               AMP, reimbursement contexts, copayments, source run; documents as text) on 10,000
#               random public-pharmacy CNKs: the ceiling for an uncached lookup on this machine
#               when the server costs nothing
#   serve       each BINARY's `registry serve --cache-mb 0` under wrk -t2 -c64 on the same CNKs
# With PERF=1, one extra run of the first binary under `perf record -g` (written to
# $BENCH_DIR/cold-cnk.perf; `perf report -i ... --no-children --sort comm,sym`).
# Medians over the repetitions, and ratios to pgbench -S and to the CNK statement, are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SCALE="${1:-1.0}"
SECONDS_PER_RUN="${2:-12}"
REPS="${3:-3}"
shift $(($# < 3 ? $# : 3))
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
export REGISTRY_DB_PORT=54350
PORT=18091
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ $# -eq 0 ]; then
  swift build -c release --scratch-path .build-release --product registry >&2
  set -- "$PWD/.build-release/release/registry"
fi
FIRST="$1"
"$FIRST" db start >&2
ADMIN="$("$FIRST" db url | sed 's#/registry$#/postgres#')"
DB="api_${SCALE//./_}"
export DATABASE_URL="${ADMIN%/postgres}/$DB"
if ! psql -Atq "$ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  echo "no database $DB: run ops/bench/api-lookup.sh $SCALE first" >&2
  exit 1
fi
if ! psql -Atq "$ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = 'pgbench_base'" | grep -q 1; then
  psql -q "$ADMIN" -c "CREATE DATABASE pgbench_base"
  pgbench -q -i -s 10 "${ADMIN%/postgres}/pgbench_base" >&2
fi
"$FIRST" migrate >/dev/null
# The same 10,000 CNKs for the statement (a table pgbench picks from) and for wrk (paths).
psql -q "$DATABASE_URL" <<'SQL'
DROP TABLE IF EXISTS bench_cnk;
CREATE TABLE bench_cnk (i int PRIMARY KEY, code text NOT NULL);
INSERT INTO bench_cnk
SELECT row_number() OVER (), split_part(entity_key, '|', 3) FROM sam_entity
WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY random() LIMIT 10000;
VACUUM ANALYZE bench_cnk;
SQL
psql -Atq "$DATABASE_URL" -c "SELECT '/v1/medicines/cnk/' || code FROM bench_cnk" > "$WORK/cold-cnk-paths.txt"
# The statement of SAMEntityQueries.DmppWithContext, with the CNK drawn from bench_cnk.
cat > "$WORK/cold-cnk.sql" <<'SQL'
\set i random(1, 10000)
WITH k AS (SELECT code FROM bench_cnk WHERE i = :i),
     d AS (SELECT s.* FROM sam_entity s, k WHERE s.entity_type = 'dmpp' AND s.entity_key = 'P|CNK|' || k.code),
     p AS (SELECT s.* FROM sam_entity s JOIN d ON s.entity_type = 'ampp' AND s.entity_key = d.parent_key),
     a AS (SELECT s.* FROM sam_entity s JOIN p ON s.entity_type = 'amp' AND s.entity_key = p.parent_key),
     r AS (SELECT s.* FROM sam_entity s, k WHERE s.entity_type = 'reimbursement_context'
             AND s.document #>> '{key,code}' = k.code AND s.document #>> '{key,deliveryEnvironment}' = 'P'
             AND s.document #>> '{key,codeType}' = 'CNK' AND EXISTS (SELECT 1 FROM d)),
     c AS (SELECT s.* FROM sam_entity s JOIN r ON s.parent_type = 'reimbursement_context' AND s.parent_key = r.entity_key)
SELECT entity_type, entity_key, parent_type, parent_key, document::text, changed_run_id, NULL FROM d
UNION ALL SELECT entity_type, entity_key, parent_type, parent_key, document::text, changed_run_id, NULL FROM p
UNION ALL SELECT entity_type, entity_key, parent_type, parent_key, document::text, changed_run_id, NULL FROM a
UNION ALL SELECT entity_type, entity_key, parent_type, parent_key, document::text, changed_run_id, NULL FROM r
UNION ALL SELECT entity_type, entity_key, parent_type, parent_key, document::text, changed_run_id, NULL FROM c
UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL,
  (SELECT id::text FROM import_run WHERE domain = 'sam' AND outcome = 'applied' ORDER BY id DESC LIMIT 1);
SQL

SERVER=""
trap '[ -n "$SERVER" ] && kill -9 $SERVER 2>/dev/null; true' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
RESULTS="$WORK/cold-cnk-results.txt"; : > "$RESULTS"
serve() {
  "$1" serve --port "$PORT" --pool-size 32 --cache-mb 0 --no-sync --no-dispatch > "$WORK/cold-cnk-serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  WRK_PATHS="$WORK/cold-cnk-paths.txt" wrk -t2 -c16 -d3s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
}
for rep in $(seq 1 "$REPS"); do
  tps=$(pgbench -S -M prepared -c 64 -j 2 -T "$SECONDS_PER_RUN" -n "${ADMIN%/postgres}/pgbench_base" 2>/dev/null \
    | awk '/^tps/ {print $3; exit}')
  echo "pgbench-S $tps" >> "$RESULTS"
  query=$(pgbench -f "$WORK/cold-cnk.sql" -M prepared -c 64 -j 2 -T "$SECONDS_PER_RUN" -n "$DATABASE_URL" 2>/dev/null \
    | awk '/^tps/ {print $3; exit}')
  echo "cnk-query $query" >> "$RESULTS"
  echo "rep $rep pgbench-S $tps cnk-query $query" >&2
  for binary in "$@"; do
    serve "$binary"
    line=$(WRK_PATHS="$WORK/cold-cnk-paths.txt" wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" -s ops/bench/random-path.lua \
      "http://127.0.0.1:$PORT" | grep '^RESULT')
    kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    echo "rep $rep $binary $line" >&2
    echo "serve:$binary $(sed 's/.*rps=\([0-9.]*\).*p50_ms=\([0-9.]*\).*p99_ms=\([0-9.]*\).*/\1 \2 \3/' <<<"$line")" >> "$RESULTS"
  done
done
if [ "${PERF:-0}" = 1 ]; then
  serve "$FIRST"
  perf record -F 499 -g -a -o "$WORK/cold-cnk.perf" -- sleep "$SECONDS_PER_RUN" >/dev/null 2>&1 &
  RECORDER=$!
  WRK_PATHS="$WORK/cold-cnk-paths.txt" wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" -s ops/bench/random-path.lua \
    "http://127.0.0.1:$PORT" >/dev/null
  wait "$RECORDER" || true
  kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  echo "perf profile: $WORK/cold-cnk.perf" >&2
fi

pick() { awk -v k="$1" -v c="$2" '$1 == k {print $c}' "$RESULTS" | median; }
tps=$(pick pgbench-S 2); query=$(pick cnk-query 2)
echo
echo "| what | per second | / pgbench -S | / CNK statement | p50 / p99 ms |"
echo "|---|---|---|---|---|"
printf "| pgbench -S -M prepared | %.0f | 1 | | |\n" "$tps"
printf "| CNK statement alone (pgbench) | %.0f | %.3f | 1 | |\n" "$query" "$(echo "$query / $tps" | bc -l)"
for binary in "$@"; do
  rps=$(pick "serve:$binary" 2)
  printf "| \`%s\` uncached | %.0f | %.3f | %.3f | %s / %s |\n" "$binary" "$rps" "$(echo "$rps / $tps" | bc -l)" \
    "$(echo "$rps / $query" | bc -l)" "$(pick "serve:$binary" 3)" "$(pick "serve:$binary" 4)"
done
