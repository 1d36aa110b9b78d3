#!/usr/bin/env bash
# Benchmark: CNK lookups per second, second by second, while a SAM delta is imported under load
# (issue 20's "import dip"), with the warm rate and the uncached rate measured in the same run.
#
#   ops/bench/import-dip.sh [SCALE] [REPS] [CHANGES]      (defaults: 1.0, 3, 1000)
#
# Per repetition, on a fresh copy of the loaded database (CREATE DATABASE … TEMPLATE):
#   `registry serve` (release, 256 MiB cache), warmed by 15 s of wrk over 3,000 random
#   public-pharmacy CNKs, then one-second `wrk -t2 -c64` runs back to back (DIP_SECONDS, 150);
#   after the 10th second `registry import sam` of the delta starts. Per second: requests/s and
#   p99, reported apart for the seconds while the import runs (its reading and applying compete
#   for the two cores) and for those after it committed (what the cache invalidation costs).
# Also, once: the same paths with the cache off (--cache-mb 0), the uncached rate.
# Prints per repetition the warm median, the lowest second after the import started, the
# seconds below 0.8× warm, and the import's wall time; then medians as a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SCALE="${1:-1.0}"
REPS="${2:-3}"
CHANGES="${3:-1000}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"
export REGISTRY_DB_PORT=54350
PORT=18091

ops/install-prerequisites.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --scratch-path .build-release --product registry >&2
REGISTRY="$PWD/.build-release/release/registry"
"$REGISTRY" db start >&2
ADMIN="$("$REGISTRY" db url | sed 's#/registry$#/postgres#')"
SERVER=""
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; true' EXIT

DATA="$WORK/sam-$SCALE"
DELTA="$WORK/sam-$SCALE-delta-$CHANGES"
[ -f "$DATA/generator.json" ] || "$REGISTRY" generate sam --scale "$SCALE" --seed 1 --out "$DATA" >&2
[ -f "$DELTA/generator.json" ] || "$REGISTRY" generate sam --from "$DATA" --changes "$CHANGES" --seed 7 --out "$DELTA" >&2
BASE_DB="dip_base_${SCALE//./_}"
if ! psql -Atq "$ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = '$BASE_DB'" | grep -q 1; then
  psql -q "$ADMIN" -c "CREATE DATABASE $BASE_DB"
  DATABASE_URL="${ADMIN%/postgres}/$BASE_DB" "$REGISTRY" migrate >/dev/null
  DATABASE_URL="${ADMIN%/postgres}/$BASE_DB" "$REGISTRY" import sam "$DATA" > "$WORK/dip-base-import.log" 2>&1
  psql -q "${ADMIN%/postgres}/$BASE_DB" -c "VACUUM ANALYZE" >/dev/null
fi
PATHS="$WORK/dip-cnk-paths.txt"
psql -Atq "${ADMIN%/postgres}/$BASE_DB" -c "SELECT '/v1/medicines/cnk/' || split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY md5(entity_key) LIMIT 3000" > "$PATHS"

second() {  # one second of load: "rps p99_ms"
  WRK_PATHS="$PATHS" wrk -t2 -c64 -d1s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" \
    | sed -n 's/^RESULT rps=\([0-9.]*\) p50_ms=[0-9.]* p99_ms=\([0-9.]*\).*/\1 \2/p'
}
serve() {  # serve CACHE_MB on a fresh copy of the loaded database
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS dip WITH (FORCE)" -c "CREATE DATABASE dip TEMPLATE $BASE_DB"
  export DATABASE_URL="${ADMIN%/postgres}/dip"
  "$REGISTRY" serve --port "$PORT" --pool-size 32 --cache-mb "$1" --no-sync > "$WORK/dip-serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  WRK_PATHS="$PATHS" wrk -t2 -c64 -d15s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }

serve 0
uncached=$(for _ in 1 2 3 4 5; do second; done | awk '{print $1}' | sort -n | sed -n 3p)
stop
echo "uncached (--cache-mb 0) median of 5 s: $uncached req/s" >&2

RESULTS="$WORK/dip-results.txt"; : > "$RESULTS"
for rep in $(seq 1 "$REPS"); do
  serve 256
  : > "$WORK/dip-seconds.txt"
  for s in $(seq 1 "${DIP_SECONDS:-150}"); do
    if [ "$s" = 11 ]; then
      ( start=$(date +%s.%N); "$REGISTRY" import sam "$DELTA" > "$WORK/dip-import.log" 2>&1
        echo "$(date +%s.%N) - $start" | bc > "$WORK/dip-import.seconds" ) &
      IMPORT=$!
    fi
    echo "$s $(second)" >> "$WORK/dip-seconds.txt"
  done
  wait "$IMPORT"
  stop
  python3 - "$WORK/dip-seconds.txt" "$(cat "$WORK/dip-import.seconds")" "$rep" "$uncached" >> "$RESULTS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
import_s = float(sys.argv[2])
committed = 10 + import_s
warm = statistics.median(float(r[1]) for r in rows if int(r[0]) <= 10)
during = [(int(r[0]), float(r[1]), float(r[2])) for r in rows if 10 < int(r[0]) <= committed]
after = [(int(r[0]), float(r[1]), float(r[2])) for r in rows if int(r[0]) > committed + 1]
low_d = min(during, key=lambda r: r[1]); low_a = min(after, key=lambda r: r[1])
print(f"rep {sys.argv[3]} warm={warm:.0f} during={statistics.median(r[1] for r in during):.0f} "
      f"during_lowest={low_d[1]:.0f} after_lowest={low_a[1]:.0f} after_ratio={low_a[1] / warm:.2f} "
      f"after_median={statistics.median(r[1] for r in after):.0f} after_below={sum(1 for r in after if r[1] < 0.8 * warm)} "
      f"after_worst_p99={max(r[2] for r in after):.1f} after_seconds={len(after)} import_s={import_s:.1f} uncached={sys.argv[4]}")
print("seconds " + " ".join(f"{float(r[1]):.0f}" for r in rows))
PY
  tail -2 "$RESULTS" >&2
done
python3 - "$RESULTS" "$SCALE" "$CHANGES" <<'PY'
import re, statistics, sys
reps = [dict(re.findall(r"(\w+)=([0-9.]+)", l)) for l in open(sys.argv[1]) if l.startswith("rep")]
med = lambda k: statistics.median(float(r[k]) for r in reps)
print(f"\nscale {sys.argv[2]}, a {sys.argv[3]}-change delta imported under load, {len(reps)} repetitions, medians\n")
print("| warm req/s | while importing: median / lowest second | import wall s | after the commit: lowest second / warm | seconds after the commit below 0.8× warm | worst p99 ms after the commit | uncached req/s |")
print("|---|---|---|---|---|---|---|")
print(f"| {med('warm'):.0f} | {med('during'):.0f} / {med('during_lowest'):.0f} | {med('import_s'):.1f} | {med('after_lowest'):.0f} / {med('warm'):.0f} = {med('after_ratio'):.2f} | {med('after_below'):.0f} of {med('after_seconds'):.0f} | {med('after_worst_p99'):.1f} | {med('uncached'):.0f} |")
PY
