#!/usr/bin/env bash
# Checks the running server against /openapi.json with schemathesis (from PyPI): every documented
# route, parameter, status and schema is exercised, so documentation and behaviour cannot drift.
# Uses its own embedded cluster (.registry-apicheck/, port 54361) with a small generated export.
set -euo pipefail
cd "$(dirname "$0")/.."
REGISTRY="${REGISTRY:-.build/debug/registry}"
PORT="${API_CHECK_PORT:-18089}"
export REGISTRY_HOME="$PWD/.registry-apicheck" REGISTRY_DB_PORT="${API_CHECK_DB_PORT:-54361}"
python3 -m pip show schemathesis >/dev/null 2>&1 || python3 -m pip install -q --root-user-action=ignore "schemathesis==4.32.5"

cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  "$REGISTRY" db stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$REGISTRY" db start >/dev/null
"$REGISTRY" migrate >/dev/null
. ops/secret-key.sh
registry_secret_key "$REGISTRY_HOME"
if [ ! -f "$REGISTRY_HOME/demo/generator.json" ]; then
  "$REGISTRY" generate sam --scale 0.004 --seed 1 --out "$REGISTRY_HOME/demo" >/dev/null 2>&1
fi
"$REGISTRY" import sam "$REGISTRY_HOME/demo" >/dev/null
# SPOR data when ../shared is present, so the documented examples find terms and substances.
SPOR=../shared/reference/spor-samples
if [ -d "$SPOR" ]; then
  "$REGISTRY" import spor-rms "$SPOR/rms-list-exports-csv" >/dev/null
  "$REGISTRY" import spor-sms "$SPOR/sms-substances/substance.csv" >/dev/null
fi
# An admin token, so the subscription routes are exercised past authentication.
TOKEN=$("$REGISTRY" clients create --name api-check --scopes admin 2>/dev/null | awk '/^token:/ {print $2}')
# Loopback is allow-listed so the documented example URL creates subscriptions the stateful phase
# then reads, changes, pings and deletes (deliveries to port 9 are refused and retried).
LOG_LEVEL=warning "$REGISTRY" serve --port "$PORT" --allow-targets 127.0.0.0/8 &
SERVER_PID=$!
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
# One worker: hypothesis on Python 3.11 builds its strategies' descriptions with ast.parse, which
# is not thread-safe there ("AST constructor recursion depth mismatch" with two workers). Every
# request and the whole run are time-bounded, so a stuck request fails the check instead of CI.
timeout --kill-after=30 "${API_CHECK_TIMEOUT:-1500}" \
  python3 -m schemathesis.cli --config-file ops/openapi/schemathesis.toml run "http://127.0.0.1:$PORT/openapi.json" \
  --header "Authorization: Bearer $TOKEN" --request-timeout 20 \
  --max-examples "${API_CHECK_EXAMPLES:-40}" --workers 1 --seed 20261127 --no-color
# The FHIR routes, described from the server's own CapabilityStatement: whatever schemathesis
# generates for them (hostile values, unknown and repeated parameters), the answer is never a 5xx.
FHIR_SPEC="$(mktemp --suffix=.json)"
python3 ops/openapi/fhir_openapi.py "http://127.0.0.1:$PORT" "$FHIR_SPEC"
timeout --kill-after=30 "${API_CHECK_TIMEOUT:-1500}" \
  python3 -m schemathesis.cli run "$FHIR_SPEC" --url "http://127.0.0.1:$PORT" --checks not_a_server_error \
  --request-timeout 20 --max-examples "${FHIR_CHECK_EXAMPLES:-25}" --workers 1 --seed 20261207 --no-color
rm -f "$FHIR_SPEC"

