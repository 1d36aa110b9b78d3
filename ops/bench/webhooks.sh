#!/usr/bin/env bash
# Benchmark: webhook delivery. Local receivers on loopback (ops/bench/WebhookSink, release), the
# dispatcher (`registry dispatch`, release) on the bench cluster, events from a real delta import.
#
#   ops/bench/webhooks.sh [EVENTS] [SUBSCRIPTIONS] [STEADY_SECONDS]   (defaults: 10000, 100, 30)
#
# The delta is generated from a scale-0.25 export (BASE_SCALE): at most one change per AMP, so
# smaller exports cannot yield 10,000 events.
#
# Phases, each with fresh subscriptions and a reset receiver:
#   baseline   wrk -t2 -c64 POSTs straight to the receiver: the loopback + receiver ceiling
#   drain-1    a delta import of ~EVENTS events is committed, then one dispatcher delivers them to
#              every subscription: deliveries/s = deliveries / (last receipt - first receipt)
#   drain-2    the same with two dispatcher processes
#   steady     a writer commits 1 event every 1/RATE s (RATE = 2000 deliveries/s / SUBSCRIPTIONS),
#              one dispatcher: commit-to-receipt latency p50/p99 (event timestamp → receipt)
#   slow-10%   the same with 10% of the subscriptions pointing at a receiver that answers after
#              20 s (beyond the 15 s response timeout): latency of the healthy ones
# Duplicates (the same webhook-id twice at one subscription) are counted in every phase.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
EVENTS="${1:-10000}"
SUBS="${2:-100}"
STEADY="${3:-30}"
WORK="${BENCH_DIR:-/var/tmp/registry-bench}"
export REGISTRY_HOME="$WORK/cluster"
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"  # serve/dispatch encrypt webhook secrets at rest
export REGISTRY_DB_PORT=54350
SINK_PORT=18200

ops/install-prerequisites.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --scratch-path .build-release --product registry >&2
swift build -c release --scratch-path .build-release --product webhook-sink >&2
REGISTRY="$PWD/.build-release/release/registry"
SINK="$PWD/.build-release/release/webhook-sink"
mkdir -p "$WORK"
"$REGISTRY" db start >&2
ADMIN="$("$REGISTRY" db url | sed 's#/registry$#/postgres#')"
export DATABASE_URL="${ADMIN%/postgres}/webhooks_bench"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS webhooks_bench WITH (FORCE)" -c "CREATE DATABASE webhooks_bench"
"$REGISTRY" migrate >/dev/null
BASE_SCALE="${BASE_SCALE:-0.25}"
BASE="$WORK/sam-$BASE_SCALE"
[ -f "$BASE/generator.json" ] || "$REGISTRY" generate sam --scale "$BASE_SCALE" --seed 1 --out "$BASE" >&2
"$REGISTRY" import sam "$BASE" > "$WORK/webhooks-base-import.log" 2>&1
# About 2.4 events per generated change (measured at 0.1 and 0.25); the exact count is reported.
CHANGES=$(( EVENTS * 10 / 24 ))
DELTA="$WORK/sam-$BASE_SCALE-delta-$CHANGES"
[ -f "$DELTA/changes.json" ] || "$REGISTRY" generate sam --from "$BASE" --changes "$CHANGES" --seed 7 --out "$DELTA" >&2

"$SINK" "$SINK_PORT" & PIDS+=($!)
sleep 1
sql() { psql -Atq "$DATABASE_URL" -c "$1"; }
stats() { curl -fs "http://127.0.0.1:$SINK_PORT/stats?prefix=${1:-/ok}"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])" 2>/dev/null || echo 0; }
reset() { curl -fs -X POST "http://127.0.0.1:$SINK_PORT/reset"; sql "DELETE FROM subscription" >/dev/null; }

# SUBS subscriptions to TYPES from position AFTER; SLOW of them at the slow receiver.
subscribe() {
  local types="$1" after="$2" slow="${3:-0}"
  sql "INSERT INTO api_client (id, name, token_hash, scopes) VALUES ('cli_bench', 'bench', 'none', '{admin}') ON CONFLICT DO NOTHING" >/dev/null
  sql "WITH s AS (
         INSERT INTO subscription (id, client_id, url, types, cursor_seq)
         SELECT 'sub_' || lpad(to_hex(i), 20, '0'), 'cli_bench',
                'http://127.0.0.1:$SINK_PORT/' || CASE WHEN i <= $slow THEN 'slow/' ELSE 'ok/' END || i,
                '{$types}', $after
         FROM generate_series(1, $SUBS) i RETURNING id)
       INSERT INTO subscription_secret (subscription_id, secret)
       SELECT id, 'whsec_' || encode(sha256(random()::text::bytea), 'base64') FROM s" >/dev/null
}

dispatcher() {
  "$REGISTRY" dispatch --allow-targets 127.0.0.0/8 --dispatch-concurrency "$1" --no-effective-events \
    > "$WORK/webhooks-dispatch-$2.log" 2>&1 &
  PIDS+=($!)
  echo $!
}

wait_for() { # count, timeout seconds
  local deadline=$(( $(date +%s) + $2 ))
  while [ "$(stats | field count)" -lt "$1" ] 2>/dev/null; do
    [ "$(date +%s)" -gt "$deadline" ] && { echo "timed out waiting for $1 deliveries" >&2; break; }
    sleep 1
  done
}

RESULTS="$WORK/webhooks-results.txt"; : > "$RESULTS"
row() { echo "| $1 | $2 | $3 | $4 | $5 | $6 |" | tee -a "$RESULTS"; }
echo "| phase | deliveries | deliveries/s | commit→receipt p50 s | p99 s | duplicates |" | tee -a "$RESULTS"
echo "|---|---|---|---|---|---|" | tee -a "$RESULTS"

# Baseline: the receiver and loopback alone.
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id":"evt_000000000001","seq":1,"type":"bench","timestamp":"2026-01-01T00:00:00.000000Z","data":{}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "evt_000000000001"
LUA
wrk -t2 -c64 -d10s -s "$WORK/post.lua" "http://127.0.0.1:$SINK_PORT/ok/base" > "$WORK/webhooks-wrk.txt"
BASE_RATE=$(awk '/Requests\/sec/ {print $2}' "$WORK/webhooks-wrk.txt")
row "baseline (wrk → receiver)" "-" "$BASE_RATE" "-" "-" "-"

# Drain: the delta's events to every subscription, one then two dispatchers.
POSITION=$(sql "SELECT last_seq FROM change_event_counter")
"$REGISTRY" import sam "$DELTA" > "$WORK/webhooks-delta-import.log" 2>&1
N_EVENTS=$(sql "SELECT count(*) FROM change_event WHERE seq > $POSITION")
echo "delta import: $N_EVENTS events" >&2
for DISPATCHERS in 1 2; do
  reset
  subscribe "sam.*" "$POSITION"
  for d in $(seq 1 "$DISPATCHERS"); do dispatcher $(( 100 / DISPATCHERS )) "drain-$DISPATCHERS-$d" > /dev/null; done
  wait_for $(( N_EVENTS * SUBS )) 1800
  S=$(stats)
  row "drain, $DISPATCHERS dispatcher(s), $N_EVENTS events × $SUBS" "$(echo "$S" | field count)" "$(echo "$S" | field rate)" "-" "-" "$(echo "$S" | field duplicates)"
  for pid in $(pgrep -f "registry dispatch" || true); do kill "$pid" 2>/dev/null || true; done
  sleep 2
done

# Steady rate: RATE events/s for STEADY seconds, committed one per transaction.
RATE=$(( 2000 / SUBS )); [ "$RATE" -lt 1 ] && RATE=1
steady() { # slow-count label
  reset
  subscribe "bench.*" "$(sql "SELECT last_seq FROM change_event_counter")" "$1"
  dispatcher 100 "steady-$2" > /dev/null
  sleep 2
  psql -q "$DATABASE_URL" -c "DO \$\$
    DECLARE base bigint;
    BEGIN
      FOR i IN 1..$(( RATE * STEADY )) LOOP
        UPDATE change_event_counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq INTO base;
        INSERT INTO change_event (seq, id, type, entity_type, entity_key, key)
        VALUES (base, 'evt_' || lpad(base::text, 12, '0'), 'bench.tick.updated', 'tick', i::text, jsonb_build_object('i', i));
        NOTIFY registry_deliveries;
        COMMIT;
        PERFORM pg_sleep(1.0 / $RATE);
      END LOOP;
    END \$\$"
  local healthy=$(( (SUBS - $1) * RATE * STEADY ))
  wait_for "$healthy" 120
  sleep 1
  S=$(stats /ok)
  row "$2: $(( RATE * STEADY )) events at $RATE/s × $SUBS subscriptions" "$(echo "$S" | field groupCount)" "$(echo "$S" | field rate)" "$(echo "$S" | field latencyP50)" "$(echo "$S" | field latencyP99)" "$(echo "$S" | field duplicates)"
  for pid in $(pgrep -f "registry dispatch" || true); do kill "$pid" 2>/dev/null || true; done
  sleep 2
}
steady 0 "steady, all healthy"
steady $(( SUBS / 10 )) "steady, 10% time out (healthy ones)"
echo "results in $RESULTS" >&2
