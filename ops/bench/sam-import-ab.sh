#!/usr/bin/env bash
# A/B comparison of full SAM imports by two (or more) builds of `registry`, interleaved so the
# machine's drift touches all alike; each import into a fresh database of the benchmark cluster.
#
#   ops/bench/sam-import-ab.sh REPS BINARY_A BINARY_B [...]
#   AB_MODE=reimport ops/bench/sam-import-ab.sh ...   (one full import by BINARY_A, then the
#                                                      re-imports of the unchanged export compared)
#   AB_MODE=delta ops/bench/sam-import-ab.sh ...      (per import: a fresh database, the full
#                                                      export imported by BINARY_A, then the delta
#                                                      export ($BENCH_DIR/sam-1.0-delta) timed)
#
# Needs the export that ops/bench/sam-import.sh generated ($BENCH_DIR/sam-1.0, default
# /var/tmp/registry-bench). Prints "binary wall_seconds peak_rss_kb" per import and the phase line.
set -euo pipefail
REPS="$1"; shift
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
export REGISTRY_DB_PORT=54350
FIRST="$1"
"$FIRST" db start >/dev/null
ADMIN="$("$FIRST" db url | sed 's#/registry$#/postgres#')"
export DATABASE_URL="${ADMIN%/postgres}/bench"
fresh() {
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"
  "$1" migrate >/dev/null
}
if [ "${AB_MODE:-full}" = reimport ]; then
  fresh "$FIRST"
  "$FIRST" import sam "$WORK/sam-1.0" >/dev/null
fi
EXPORT="$WORK/sam-1.0"
[ "${AB_MODE:-full}" = delta ] && EXPORT="$WORK/sam-1.0-delta"
for rep in $(seq 1 "$REPS"); do
  for binary in "$@"; do
    case "${AB_MODE:-full}" in
      full) fresh "$binary" ;;
      delta) fresh "$FIRST"; "$FIRST" import sam "$WORK/sam-1.0" >/dev/null ;;
    esac
    sync
    /usr/bin/time -f "%e %M" -o "$WORK/ab.time" "$binary" import sam "$EXPORT" > "$WORK/ab.log" 2>&1
    echo "$binary $(cat "$WORK/ab.time") $(grep 'duration:' "$WORK/ab.log" | sed 's/^ *//')"
  done
done
"$FIRST" db stop >/dev/null
