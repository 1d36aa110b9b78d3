#!/usr/bin/env bash
# Benchmark: building the offline-mirror files of a SAM version (SQLite snapshot + NDJSON per
# entity type, one pass) at a scale, against reading the same documents out of PostgreSQL alone.
#
#   ops/bench/export.sh [SCALE] [REPS]        (defaults: 1.0, 3; the release build)
#
# On the database ops/bench/api-lookup.sh loads (api_<scale>, cluster $BENCH_DIR/cluster):
#   read     psql \copy of every sam_entity document to /dev/null: the data the build must read
#   build    `registry export sam` under /usr/bin/time: wall seconds and peak RSS
# then the files' sizes, and 2,000 random CNK questions (price, reimbursement contexts and
# copayments on a date) answered from the SQLite file by Python's sqlite3 (median µs) next to the
# same questions to `registry serve --cache-mb 0` over HTTP keep-alive (median µs).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SCALE="${1:-1.0}"
REPS="${2:-3}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
export REGISTRY_DB_PORT=54350
PORT=18093
BIN="$PWD/.build-release/release/registry"
swift build -c release --scratch-path .build-release --product registry >&2
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"
"$BIN" db start >&2
ADMIN="$("$BIN" db url | sed 's#/registry$#/postgres#')"
DB="api_${SCALE//./_}"
export DATABASE_URL="${ADMIN%/postgres}/$DB"
psql -Atq "$ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || { echo "run ops/bench/api-lookup.sh $SCALE first (it loads $DB)" >&2; exit 1; }
"$BIN" migrate >&2
OUT="$WORK/exports-$SCALE"
rm -rf "$OUT" && mkdir -p "$OUT"
entities=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM sam_entity")
echo "scale $SCALE: $entities SAM entities; $(nproc) cores; $(date -u +%FT%TZ)"
reads=(); builds=(); rss=()
for rep in $(seq 1 "$REPS"); do
  start=$(date +%s.%N)
  psql -q "$DATABASE_URL" -c "\\copy (SELECT entity_type, entity_key, parent_key, document::text FROM sam_entity ORDER BY entity_type, entity_key) TO '/dev/null'"
  reads+=("$(echo "$(date +%s.%N) - $start" | bc)")
  /usr/bin/time -v "$BIN" export sam --export-dir "$OUT" > "$WORK/export-files.txt" 2> "$WORK/export-time.txt"
  builds+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$WORK/export-time.txt")")
  rss+=("$(awk -F': ' '/Maximum resident/ {print int($2 / 1024)}' "$WORK/export-time.txt")")
  echo "rep $rep: read ${reads[-1]} s, build ${builds[-1]} s, peak RSS ${rss[-1]} MB"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
read_m=$(median "${reads[@]}"); build_m=$(median "${builds[@]}"); rss_m=$(median "${rss[@]}")
echo "median: read ${read_m} s, build ${build_m} s ($(echo "scale=1; $build_m / $read_m" | bc)x the read), peak RSS ${rss_m} MB"
sqlite=$(ls "$OUT"/sam-*.sqlite)
echo "files: $(basename "$sqlite") $(du -m "$sqlite" | cut -f1) MB; NDJSON $(cat "$OUT"/sam-*-*.ndjson.gz | wc -c | awk '{printf "%.0f", $1 / 1048576}') MB gzip in $(ls "$OUT"/sam-*-*.ndjson.gz | wc -l) files"

# Lookups: the same CNK questions from the file and from the API.
psql -Atq "$DATABASE_URL" -c "SELECT split_part(entity_key, '|', 3) FROM sam_entity WHERE entity_type = 'dmpp' AND entity_key LIKE 'P|CNK|%' ORDER BY md5(entity_key) LIMIT 2000" > "$WORK/export-cnks.txt"
LOG_LEVEL=error "$BIN" serve --port "$PORT" --cache-mb 0 --warm-paths 0 --no-dispatch --no-sync --no-export-build >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
python3 - "$sqlite" "$WORK/export-cnks.txt" "$PORT" <<'PY'
import http.client, sqlite3, statistics, sys, time
sys.path.insert(0, "ops/exports")
from sam_sqlite_check import answer
path, cnk_file, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
cnks = [line.strip() for line in open(cnk_file) if line.strip()]
day = time.strftime("%Y-%m-%d")
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
for cnk in cnks[:50]:
    answer(db, cnk, "P", day)  # warm the page cache
local = []
for cnk in cnks:
    t = time.perf_counter_ns(); answer(db, cnk, "P", day); local.append((time.perf_counter_ns() - t) / 1000)
conn = http.client.HTTPConnection("127.0.0.1", port)
remote = []
for cnk in cnks:
    t = time.perf_counter_ns()
    conn.request("GET", f"/v1/medicines/cnk/{cnk}?at={day}")
    conn.getresponse().read()
    remote.append((time.perf_counter_ns() - t) / 1000)
q = lambda xs, p: sorted(xs)[int(len(xs) * p) - 1]
print(f"CNK question from SQLite (Python sqlite3, 5 indexed queries): median {statistics.median(local):.0f} µs, p99 {q(local, 0.99):.0f} µs")
print(f"same CNK from the API (uncached, HTTP keep-alive, one client): median {statistics.median(remote):.0f} µs, p99 {q(remote, 0.99):.0f} µs")
print(f"ratio API/SQLite: {statistics.median(remote) / statistics.median(local):.1f}x")
PY
