#!/usr/bin/env bash
# Benchmark: `registry sync --once sam` of a generated export from SAM's download service faked on
# loopback, against the baseline measured in the same run: a plain `curl` of the same file plus
# `registry import sam` of it.
#
#   ops/bench/sync.sh [SCALE] [REPS]      (defaults: 1.0 and 3)
#
# Per repetition, alternating which goes first, each into a fresh database of the benchmark
# cluster: baseline = curl wall time + import wall time; sync = one sync (version check, streamed
# download into the archive with SHA-256, import). Peak RSS of the registry process by
# /usr/bin/time. Prints every run, then the medians and the ratio as a Markdown table.
# Target (issue 19): sync ≤ 1.2 × (curl + import), peak RSS ≤ 300 MB.
#
# A generated export zips to far less than the real ~300 MB (its XML repeats itself), so a second
# table measures the download alone at the real size: 300 MB of random bytes served as the
# export; `sync --once` streams, hashes and archives it, then the import refuses it at once (not
# a zip) — against `curl` of the same bytes. SYNC_BENCH_PART=full|download runs one table only.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
SCALE="${1:-1.0}"
REPS="${2:-3}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
ZIPDIR="$WORK/sam-$SCALE-zip"
export REGISTRY_HOME="$WORK/cluster"
export REGISTRY_DB_PORT=54350

ops/install-prerequisites.sh
swift build -c release --scratch-path .build-release --product registry >&2
swift build -c release --scratch-path .build-release --product sam-download-fake >&2
BIN=.build-release/release/registry
FAKE=.build-release/release/sam-download-fake
if ! ls "$ZIPDIR"/*.zip >/dev/null 2>&1; then
  "$BIN" generate sam --scale "$SCALE" --seed 1 --zip --out "$ZIPDIR" >&2
fi
ZIP="$(ls "$ZIPDIR"/*.zip | head -1)"
SIZE=$(stat -c %s "$ZIP")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RANDOM_ZIP="$WORK/random-300mb.zip"
[ -f "$RANDOM_ZIP" ] || head -c 300000000 /dev/urandom > "$RANDOM_ZIP"
PART="${SYNC_BENCH_PART:-all}"
[ "$PART" = download ] && ZIP="$RANDOM_ZIP" && SIZE=$(stat -c %s "$ZIP")
"$FAKE" "$PORT" 12342 "$ZIP" > "$WORK/fake.url" &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null || true; "$BIN" db stop >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/fake.url" ] && break; sleep 0.1; done
BASE_URL="$(cat "$WORK/fake.url")"
"$BIN" db start >/dev/null
ADMIN="$("$BIN" db url | sed 's#/registry$#/postgres#')"
export DATABASE_URL="${ADMIN%/postgres}/bench"
fresh() {
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"
  "$BIN" migrate >/dev/null
  rm -rf "$WORK/archive" "$WORK/download.zip"
  sync
}
baseline() {
  fresh
  /usr/bin/time -f "%e %M" -o "$WORK/curl.time" curl -sS -o "$WORK/download.zip" \
    "$BASE_URL/samv2-download?type=FULL&version=12342&xsd=6"
  /usr/bin/time -f "%e %M" -o "$WORK/import.time" "$BIN" import sam "$WORK/download.zip" > "$WORK/import.log" 2>&1
  read -r curl_s _ < "$WORK/curl.time"
  read -r import_s import_rss < "$WORK/import.time"
  echo "baseline $(python3 -c "print(round($curl_s + $import_s, 2))") $import_rss curl=$curl_s import=$import_s"
}
synced() {
  fresh
  SOURCES_SAM_BASE_URL="$BASE_URL" SYNC_ARCHIVE_DIRECTORY="$WORK/archive" REGISTRY_CONFIG="" \
    /usr/bin/time -f "%e %M" -o "$WORK/sync.time" "$BIN" sync --once sam > "$WORK/sync.log" 2>&1
  grep -q "sam: imported (version 12342)" "$WORK/sync.log" || { cat "$WORK/sync.log" >&2; exit 1; }
  read -r sync_s sync_rss < "$WORK/sync.time"
  echo "sync $sync_s $sync_rss"
}
download_only() {
  fresh
  /usr/bin/time -f "%e %M" -o "$WORK/curl.time" curl -sS -o "$WORK/download.zip" \
    "$BASE_URL/samv2-download?type=FULL&version=12342&xsd=6"
  read -r curl_s curl_rss < "$WORK/curl.time"
  echo "curl $curl_s $curl_rss"
  fresh
  SOURCES_SAM_BASE_URL="$BASE_URL" SYNC_ARCHIVE_DIRECTORY="$WORK/archive" REGISTRY_CONFIG="" \
    /usr/bin/time -f "%e %M" -o "$WORK/sync.time" "$BIN" sync --once sam > "$WORK/sync.log" 2>&1 || true
  grep -q "sam: refused (version 12342)" "$WORK/sync.log" || { cat "$WORK/sync.log" >&2; exit 1; }
  # Exit 3 (refused) makes time(1) write a line before its figures.
  read -r sync_s sync_rss < <(tail -1 "$WORK/sync.time")
  echo "syncdl $sync_s $sync_rss"
}
if [ "$PART" = download ]; then
  : > "$WORK/sync-download.txt"
  for rep in $(seq 1 "$REPS"); do download_only | tee -a "$WORK/sync-download.txt"; done
  python3 - "$WORK/sync-download.txt" "$SIZE" "$REPS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
curl = [float(r[1]) for r in rows if r[0] == "curl"]; sync = [float(r[1]) for r in rows if r[0] == "syncdl"]
sync_rss = [int(r[2]) for r in rows if r[0] == "syncdl"]
print(f"\ndownload alone: {int(sys.argv[2]) / 1e6:.0f} MB of random bytes, {sys.argv[3]} repetitions each\n")
print("| run | median wall s | median peak RSS MB |")
print("|---|---|---|")
print(f"| `curl` | {statistics.median(curl):.2f} | |")
print(f"| `registry sync --once sam` (version check, download, SHA-256, archive; import refuses) | {statistics.median(sync):.2f} | {statistics.median(sync_rss) / 1024:.0f} |")
print(f"| ratio sync / curl | {statistics.median(sync) / statistics.median(curl):.2f} | |")
PY
  exit 0
fi
: > "$WORK/sync-bench.txt"
for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) = 1 ]; then baseline; synced; else synced; baseline; fi | tee -a "$WORK/sync-bench.txt"
done
python3 - "$WORK/sync-bench.txt" "$SIZE" "$SCALE" "$REPS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
base = [float(r[1]) for r in rows if r[0] == "baseline"]; base_rss = [int(r[2]) for r in rows if r[0] == "baseline"]
sync = [float(r[1]) for r in rows if r[0] == "sync"]; sync_rss = [int(r[2]) for r in rows if r[0] == "sync"]
mb, ms = statistics.median(base), statistics.median(sync)
print(f"\nscale {sys.argv[3]}, export zip {int(sys.argv[2]) / 1e6:.0f} MB, {sys.argv[4]} repetitions each\n")
print("| run | median wall s | median peak RSS MB |")
print("|---|---|---|")
print(f"| curl + `registry import sam` (baseline) | {mb:.1f} | {statistics.median(base_rss) / 1024:.0f} (import) |")
print(f"| `registry sync --once sam` | {ms:.1f} | {statistics.median(sync_rss) / 1024:.0f} |")
print(f"| ratio sync / baseline | {ms / mb:.2f} | |")
PY
