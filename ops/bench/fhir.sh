#!/usr/bin/env bash
# Benchmark (SPOR/IDMP/FHIR issue): the RMS dose-form list import, and FHIR search next to its
# /v1 equivalent under wrk, in one run on this machine.
#
#   [POOL=N] ops/bench/fhir.sh [SECONDS] [REPS]     (defaults: 15, 3; POOL: the server's
#   PostgreSQL connections, default 32)
#
# Needs ../shared/reference/spor-samples (the real RMS dose-form export, 11.5 MB CSV zipped). Uses
# the bench cluster's databases of ops/bench/api-lookup.sh (api_1_0: generated SAM export, scale
# 1.0) and ops/bench/providers.sh (providers_1_0: 600,000 practices), making them when missing.
#
# RMS, per repetition on a fresh database: `registry import spor-rms export-200000000004.zip`,
# then the same file again (no change), under /usr/bin/time; baseline in the same run: Python's csv
# module reading the same zipped CSV (the floor of parsing it).
# Search, per server configuration (response cache off: every answer computed; on: 256 MiB,
# warmed 5 s), per repetition, wrk -t2 -c32 for SECONDS over random paths:
#   v1-cnk     /v1/medicines/cnk/{cnk}                         (api_1_0, 10,000 random CNKs)
#   fhir-cnk   /fhir/PackagedProductDefinition?identifier={cnk}
#   v1-near    /v1/practices?near=LAT,LON&radius_km=5           (providers_1_0, 2,000 random practice places)
#   fhir-near  /fhir/Location?near=LAT|LON|5|km
# Medians of requests/s and p99, and the FHIR/v1 p99 ratio, are printed for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SECONDS_PER_RUN="${1:-15}"
REPS="${2:-3}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"  # serve/dispatch encrypt webhook secrets at rest
export REGISTRY_DB_PORT=54350
PORT=18093
DOSE_FORMS="../shared/reference/spor-samples/rms-list-exports-csv/export-200000000004.zip"

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
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
RESULTS="$WORK/fhir-results.txt"; : > "$RESULTS"

# RMS dose-form list import.
for rep in $(seq 1 "$REPS"); do
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS rms_bench" -c "CREATE DATABASE rms_bench"
  export DATABASE_URL="${ADMIN%/postgres}/rms_bench"
  "$REGISTRY" migrate >/dev/null
  for kind in import reimport; do
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$REGISTRY" import spor-rms "$DOSE_FORMS" > "$WORK/rms-$kind.log" 2>&1
    read -r secs kib < "$WORK/time.txt"
    echo "rms-$kind $secs $((kib / 1024))" >> "$RESULTS"
    echo "rep $rep rms $kind: $secs s, $((kib / 1024)) MiB" >&2
  done
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" python3 -c "
import csv, io, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
rows = sum(1 for n in z.namelist() if n.endswith('.csv') for _ in csv.reader(io.StringIO(z.read(n).decode('utf-8-sig'), newline='')))
print(rows)" "$DOSE_FORMS" > "$WORK/rms-python.log"
  read -r secs kib < "$WORK/time.txt"
  echo "rms-python $secs $((kib / 1024))" >> "$RESULTS"
done
rows=$(cat "$WORK/rms-python.log")
terms=$(grep -o 'rms-term *[0-9]*' "$WORK/rms-import.log" | awk '{print $2}' | head -1)

run_pair() { # database v1-paths fhir-paths v1-name fhir-name
  local db=$1 v1=$2 fhir=$3
  export DATABASE_URL="${ADMIN%/postgres}/$db"
  "$REGISTRY" migrate >/dev/null
  for CACHE in 0 256; do
    "$REGISTRY" serve --port "$PORT" --pool-size "${POOL:-32}" --cache-mb "$CACHE" > "$WORK/fhir-serve.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
    sleep 20  # the in-memory practice search loads after start (v1-near answers from it)
    for paths in "$v1" "$fhir"; do
      WRK_PATHS="$paths" wrk -t2 -c16 -d5s -s ops/bench/random-path.lua "http://127.0.0.1:$PORT" >/dev/null
    done
    for rep in $(seq 1 "$REPS"); do
      for pair in "$4:$v1" "$5:$fhir"; do
        name=${pair%%:*}; paths=${pair#*:}
        line=$(WRK_PATHS="$paths" wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -s ops/bench/random-path.lua \
          "http://127.0.0.1:$PORT" | grep '^RESULT')
        echo "rep $rep cache $CACHE $name $line" >&2
        echo "$name-c$CACHE $(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$line") $(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$line") $(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$line") $(sed 's/.*non2xx=\([0-9]*\).*/\1/' <<<"$line")" >> "$RESULTS"
      done
    done
    echo "rss-$4-c$CACHE $(( $(ps -o rss= -p "$SERVER") / 1024 ))" >> "$RESULTS"
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  done
}

# The two databases, made as ops/bench/api-lookup.sh and ops/bench/providers.sh make them when
# this machine has not got them yet (generated data, scale 1.0, seed 1).
prepare() { # database data-dir generate-kind import-kind...
  local db=$1 data=$2 kind=$3; shift 3
  export DATABASE_URL="${ADMIN%/postgres}/$db"
  psql -Atq "$ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
    || psql -q "$ADMIN" -c "CREATE DATABASE $db"
  "$REGISTRY" migrate >/dev/null
  psql -Atq "$DATABASE_URL" -c "SELECT 1 FROM import_run WHERE outcome = 'applied' LIMIT 1" | grep -q 1 && return
  [ -d "$data" ] || "$REGISTRY" generate "$kind" --scale 1.0 --seed 1 --out "$data" >&2
  for what in "$@"; do "$REGISTRY" import "$what" "$data" > "$WORK/fhir-prepare-$what.log" 2>&1; done
  psql -q "$DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null
}
prepare api_1_0 "$WORK/sam-1.0" sam sam
# The RMS lists, so the packs' IDMP packaging is really looked up (a re-import changes nothing).
"$REGISTRY" import spor-rms "$(dirname "$DOSE_FORMS")" > "$WORK/fhir-prepare-rms.log" 2>&1
prepare providers_1_0 "$WORK/cobrha-1.0" cobrha cobrha practices

API="${ADMIN%/postgres}/api_1_0"
psql -Atq "$API" -c "SELECT split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY random() LIMIT 10000" > "$WORK/fhir-cnks.txt"
sed 's#^#/v1/medicines/cnk/#' "$WORK/fhir-cnks.txt" > "$WORK/v1-cnk-paths.txt"
sed 's#^#/fhir/PackagedProductDefinition?identifier=#' "$WORK/fhir-cnks.txt" > "$WORK/fhir-cnk-paths.txt"
run_pair api_1_0 "$WORK/v1-cnk-paths.txt" "$WORK/fhir-cnk-paths.txt" v1-cnk fhir-cnk

PROVIDERS="${ADMIN%/postgres}/providers_1_0"
psql -Atq "$PROVIDERS" -c "SELECT round(latitude::numeric, 4) || ' ' || round(longitude::numeric, 4) FROM practice WHERE latitude IS NOT NULL ORDER BY random() LIMIT 2000" > "$WORK/fhir-places.txt"
awk '{print "/v1/practices?near=" $1 "," $2 "&radius_km=5"}' "$WORK/fhir-places.txt" > "$WORK/v1-near-paths.txt"
awk '{print "/fhir/Location?near=" $1 "%7C" $2 "%7C5%7Ckm"}' "$WORK/fhir-places.txt" > "$WORK/fhir-near-paths.txt"
run_pair providers_1_0 "$WORK/v1-near-paths.txt" "$WORK/fhir-near-paths.txt" v1-near fhir-near

pick() { awk -v k="$1" -v c="$2" '$1 == k {print $c}' "$RESULTS" | median; }
echo
echo "RMS dose-form list ($rows CSV rows, $terms terms):"
echo "| step | wall s (median) | peak RSS MiB | ratio to Python csv |"
echo "|---|---|---|---|"
py=$(pick rms-python 2)
for k in rms-import rms-reimport rms-python; do
  printf "| %s | %s | %s | %.2f |\n" "$k" "$(pick $k 2)" "$(pick $k 3)" "$(echo "$(pick $k 2) / $py" | bc -l)"
done
echo
echo "| request | response cache | req/s | p50 ms | p99 ms | non-2xx | p99 FHIR / v1 |"
echo "|---|---|---|---|---|---|---|"
for CACHE in 0 256; do
  for pair in v1-cnk:fhir-cnk v1-near:fhir-near; do
    v1=${pair%%:*}; f=${pair#*:}
    for name in "$v1" "$f"; do
      ratio=""; [ "$name" = "$f" ] && ratio=$(printf "%.2f" "$(echo "$(pick "$f-c$CACHE" 4) / $(pick "$v1-c$CACHE" 4)" | bc -l)")
      label="off"; [ "$CACHE" != 0 ] && label="$CACHE MiB"
      printf "| %s | %s | %.0f | %s | %s | %s | %s |\n" "$name" "$label" "$(pick "$name-c$CACHE" 2)" \
        "$(pick "$name-c$CACHE" 3)" "$(pick "$name-c$CACHE" 4)" "$(pick "$name-c$CACHE" 5)" "$ratio"
    done
  done
done
echo
echo "Server RSS after the runs (MiB): $(awk '$1 ~ /^rss-/ {printf "%s %s; ", substr($1, 5), $2}' "$RESULTS")"
