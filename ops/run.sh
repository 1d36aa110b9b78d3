#!/usr/bin/env bash
# Quick start: builds the registry (release), starts the embedded PostgreSQL under .registry/,
# migrates, generates and imports a small demo SAM export and demo healthcare actors, then serves the API on
# http://127.0.0.1:${PORT:-8080} until Ctrl-C. The database keeps running afterwards
# (`.build-release/release/registry db stop` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
PORT="${PORT:-8080}"
ops/install-prerequisites.sh
swift build -c release --scratch-path .build-release --product registry
REGISTRY=.build-release/release/registry
$REGISTRY db start
$REGISTRY migrate
# Webhook signing secrets are encrypted at rest: the key is REGISTRY_SECRET_KEY, or one generated
# once into .registry/secret.key (mode 0600).
. ops/secret-key.sh
registry_secret_key "${REGISTRY_HOME:-.registry}"
if [ ! -f .registry/demo/generator.json ]; then
  $REGISTRY generate sam --scale "${DEMO_SCALE:-0.02}" --seed 1 --out .registry/demo
fi
$REGISTRY import sam .registry/demo
# Healthcare actors: a generated CoBRHA snapshot pair and practice register, and the real AFMPS
# pharmacy list when ../shared is present.
if [ ! -f .registry/demo-providers/practices.csv ]; then
  $REGISTRY generate cobrha --scale "${DEMO_PROVIDER_SCALE:-0.01}" --seed 1 --out .registry/demo-providers
fi
$REGISTRY import cobrha .registry/demo-providers
$REGISTRY import practices .registry/demo-providers
AFMPS=../shared/reference/providers/afmps-pharmacies_last-pharmacies_afmps.json
if [ -f "$AFMPS" ]; then $REGISTRY import pharmacies "$AFMPS"; fi
# EMA SPOR reference data (RMS lists, SMS substances) when ../shared is present.
SPOR=../shared/reference/spor-samples
if [ -d "$SPOR" ]; then
  $REGISTRY import spor-rms "$SPOR/rms-list-exports-csv" >/dev/null
  $REGISTRY import spor-sms "$SPOR/sms-substances/substance.csv"
fi

# A demo client (created once; its token is kept here so the example below works on every start).
if [ ! -s .registry/demo-token ]; then
  $REGISTRY clients create --name demo --scopes subscriptions:manage,admin 2>/dev/null \
    | awk '/^token:/ {print $2}' > .registry/demo-token
fi
TOKEN=$(cat .registry/demo-token)

# The demo allow-lists loopback so webhooks can go to a receiver on this machine.
$REGISTRY serve --port "$PORT" --allow-targets 127.0.0.0/8,::1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER' INT TERM
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
BASE="http://127.0.0.1:$PORT"
EXAMPLES=(
  "$BASE/v1/medicines/cnk/1000000"
  "$BASE/v1/medicines?q=haldol&lang=nl&limit=5"
  "$BASE/v1/medicines/vmp-groups/1?at=2025-01-01"
  "$BASE/v1/practices?name=Vandecasteele&limit=5"
  "$BASE/v1/practices?profession=persphysician&near=1000&radius_km=5&limit=5"
  "$BASE/v1/spor/rms/terms?source=EDQM&code=10219000"
)
echo
echo "Registry serving on $BASE (database $($REGISTRY db url | sed -E 's#://([^:@/]*):[^@]*@#://\1:***@#')); try:"
for url in "${EXAMPLES[@]}"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "$url")
  echo "  curl '$url'    # HTTP $status"
done
echo "  curl -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' \\"
echo "       -d '{\"url\": \"http://127.0.0.1:9000/hook\", \"types\": [\"sam.dmpp.*\"]}' $BASE/v1/subscriptions"
echo "    # a webhook subscription (demo admin token in .registry/demo-token); then $BASE/v1/changes"
echo "  (also $BASE/openapi.json, $BASE/health/ready, and $BASE/metrics with the demo token; Ctrl-C stops the server)"
wait $SERVER
