#!/usr/bin/env bash
# Benchmark: SAM import at a given scale against the floor measured in the same run.
#
#   ops/bench/sam-import.sh [SCALE] [REPS]      (defaults: 1.0 and 3)
#
# For each repetition, on a fresh database of the embedded cluster:
#   floor     = `xmllint --stream --noout` over the nine XML files
#             + a plain COPY of the same rows (entity documents) into an empty text table
#   full      = `registry import sam` of the export into an empty database
#   reimport  = the same export again (must emit 0 events)
#   delta     = the next version with 1,000 generated changes
# (the database is vacuumed and analysed before the re-import and the delta, untimed)
# Wall times and peak RSS come from /usr/bin/time; busy core-seconds from /proc/stat (the whole
# machine: this process, PostgreSQL and anything else running, so run it on an idle machine).
# Busy core-seconds divided by the number of cores is the shortest wall time the same work could
# take if it kept every core busy. Medians and ratios are printed as a Markdown table for
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SCALE="${1:-1.0}"
REPS="${2:-3}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
BASE="$WORK/sam-$SCALE"
DELTA="$WORK/sam-$SCALE-delta"
export REGISTRY_HOME="$WORK/cluster"
export REGISTRY_DB_PORT=54350

ops/install-prerequisites.sh
swift build -c release --scratch-path .build-release --product registry >&2
REGISTRY="$PWD/.build-release/release/registry"

mkdir -p "$WORK"
if [ ! -f "$BASE/generator.json" ]; then
  rm -rf "$BASE"; "$REGISTRY" generate sam --scale "$SCALE" --seed 1 --out "$BASE" >&2
fi
if [ ! -f "$DELTA/generator.json" ]; then
  rm -rf "$DELTA"; "$REGISTRY" generate sam --from "$BASE" --changes 1000 --seed 2 --out "$DELTA" >&2
fi
"$REGISTRY" db start >&2
ADMIN="$("$REGISTRY" db url | sed 's#/registry$#/postgres#')"

busy_ticks() { # user + nice + system + irq + softirq of all cores, in clock ticks
  awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat
}

timed() { # timed LABEL command... -> appends "label seconds maxrss_kb busy_core_seconds" to $RESULTS
  local label="$1"; shift
  local before; before="$(busy_ticks)"
  # "time busy_ticks" four times a second, to split the busy time by the import's phases.
  ( while true; do echo "$(date +%s.%N) $(busy_ticks)"; sleep 0.25; done ) > "$WORK/$label.samples" &
  local sampler=$!
  local status=0
  /usr/bin/time -f "%e %M" -o "$WORK/time.out" "$@" > "$WORK/$label.log" 2>&1 || status=$?
  kill "$sampler"
  if [ "$status" != 0 ]; then echo "$label failed ($status): see $WORK/$label.log" >&2; exit "$status"; fi
  local busy; busy="$(awk -v a="$before" -v b="$(busy_ticks)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}')"
  echo "$label $(cat "$WORK/time.out") $busy" >> "$RESULTS"
}

RESULTS="$WORK/results.txt"; : > "$RESULTS"
for rep in $(seq 1 "$REPS"); do
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"
  export DATABASE_URL="${ADMIN%/postgres}/bench"
  "$REGISTRY" migrate >/dev/null
  sync
  timed xmllint xmllint --stream --noout "$BASE"/*.xml
  timed full "$REGISTRY" import sam "$BASE"
  # The previous import's tables vacuumed and analysed now, as autovacuum would have done by the
  # time the next export arrives, instead of during the timed step (2-3 s of its reading).
  psql -q "$DATABASE_URL" -c "VACUUM (ANALYZE)"
  timed reimport "$REGISTRY" import sam "$BASE"
  grep -q "change events: 0$" "$WORK/reimport.log" || { echo "re-import emitted events" >&2; exit 1; }
  psql -q "$DATABASE_URL" -c "\copy (SELECT entity_type, entity_key, parent_type, parent_key, content_hash, document::text FROM sam_entity) TO '$WORK/rows.copy'"
  psql -q "$DATABASE_URL" -c "CREATE TABLE copy_floor (entity_type text, entity_key text, parent_type text, parent_key text, content_hash text, document text)"
  timed copy psql -q "$DATABASE_URL" -c "\copy copy_floor FROM '$WORK/rows.copy'"
  psql -q "$DATABASE_URL" -c "DROP TABLE copy_floor"
  psql -q "$DATABASE_URL" -c "VACUUM (ANALYZE)"
  timed delta "$REGISTRY" import sam "$DELTA"
  grep "change events" "$WORK/delta.log" | sed "s/^/rep $rep delta: /" >&2
done
"$REGISTRY" db stop >&2

python3 - "$RESULTS" "$SCALE" "$BASE" "$(nproc)" <<'PY'
import sys, statistics, collections, os, glob, re
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, secs, rss, busy = line.split()
    rows[label].append((float(secs), int(rss), float(busy)))
cores = int(sys.argv[4])
med = {k: statistics.median(s for s, _, _ in v) for k, v in rows.items()}
rss = {k: max(r for _, r, _ in v) / 1024 for k, v in rows.items()}
busy = {k: statistics.median(b for _, _, b in v) for k, v in rows.items()}
floor = med["xmllint"] + med["copy"]
size = sum(os.path.getsize(f) for f in glob.glob(os.path.join(sys.argv[3], "*.xml"))) / 1e6
print(f"scale {sys.argv[2]}: {size:.0f} MB of XML, {len(rows['full'])} repetitions, medians, {cores} cores")
print("| step | median wall (s) | peak RSS (MB) | ratio to floor | busy core-s | busy / cores (s) |")
print("|---|---|---|---|---|---|")
print(f"| floor: xmllint --stream | {med['xmllint']:.1f} | {rss['xmllint']:.0f} | | {busy['xmllint']:.1f} | |")
print(f"| floor: plain COPY of the same rows | {med['copy']:.1f} | | | {busy['copy']:.1f} | |")
print(f"| floor total | {floor:.1f} | | 1.00 | {busy['xmllint'] + busy['copy']:.1f} | |")
for k, name in (("full", "full import"), ("reimport", "re-import, unchanged (0 events)"), ("delta", "delta import, 1,000 changes")):
    print(f"| {name} | {med[k]:.1f} | {rss[k]:.0f} | {med[k] / floor:.2f} | {busy[k]:.1f} | {busy[k] / cores:.1f} |")

# Busy core-seconds per phase of the last repetition, from the samples and the phase durations
# the import prints (the phases follow each other; the first starts with the first sample).
hz = os.sysconf("SC_CLK_TCK")
for k in ("full", "reimport", "delta"):
    work = os.path.dirname(sys.argv[1])
    samples = [tuple(map(float, l.split())) for l in open(os.path.join(work, f"{k}.samples")) if len(l.split()) == 2]
    line = next(l for l in open(os.path.join(work, f"{k}.log")) if "duration:" in l)
    phases = re.findall(r"([a-z+ -]+?) ([0-9.]+) s", line.split("(", 1)[1])
    ticks_at = lambda t: min(samples, key=lambda x: abs(x[0] - t))[1]
    t, parts = samples[0][0], []
    for name, secs in phases:
        secs = float(secs)
        used = (ticks_at(t + secs) - ticks_at(t)) / hz
        share = f" ({used / secs / cores * 100:.0f}%)" if secs >= 0.5 else ""
        parts.append(f"{name.strip()} {secs:.1f} s / {used:.1f} core-s{share}")
        t += secs
    print(f"{k} (last repetition), phase wall / busy core-s (share of {cores} cores): " + "; ".join(parts))
PY
