#!/usr/bin/env bash
# Demonstration of the replicated deployment (docs/DEPLOYMENT.md) on one machine:
#   a primary (embedded cluster, .registry-cluster/primary, port 55431) with the demo data,
#   two hot standbys made with `registry db standby` (pg_basebackup -R; ports 55432, 55433),
#   three API nodes reading from the standbys (8081 and 8082 on the first, 8083 on the second),
#   one webhook dispatcher on the primary.
#
#   ops/cluster.sh          start everything, print the nodes' readiness, wait until Ctrl-C
#   ops/cluster.sh stop     stop the PostgreSQL clusters (the processes stop with Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
HOME_DIR="$PWD/.registry-cluster"
REGISTRY="$PWD/.build-release/release/registry"
cluster() { REGISTRY_HOME="$HOME_DIR/$1" REGISTRY_DB_PORT="$2" "$REGISTRY" "${@:3}"; }

if [ "${1:-}" = stop ]; then
  cluster standby-2 55433 db stop || true
  cluster standby-1 55432 db stop || true
  cluster primary 55431 db stop || true
  exit 0
fi

ops/install-prerequisites.sh
swift build -c release --scratch-path .build-release --product registry
mkdir -p "$HOME_DIR"
. ops/secret-key.sh
registry_secret_key "$HOME_DIR"

cluster primary 55431 db start
PRIMARY="$(cluster primary 55431 db url)"
DATABASE_URL="$PRIMARY" "$REGISTRY" migrate
if [ ! -f "$HOME_DIR/demo/generator.json" ]; then
  "$REGISTRY" generate sam --scale "${DEMO_SCALE:-0.02}" --seed 1 --out "$HOME_DIR/demo" >/dev/null
  DATABASE_URL="$PRIMARY" "$REGISTRY" import sam "$HOME_DIR/demo" | tail -3
  "$REGISTRY" generate cobrha --scale "${DEMO_PROVIDER_SCALE:-0.01}" --seed 1 --out "$HOME_DIR/demo-providers" >/dev/null
  DATABASE_URL="$PRIMARY" "$REGISTRY" import cobrha "$HOME_DIR/demo-providers" | tail -1
  DATABASE_URL="$PRIMARY" "$REGISTRY" import practices "$HOME_DIR/demo-providers" | tail -1
fi

cluster standby-1 55432 db standby --primary-home "$HOME_DIR/primary" --primary-port 55431
cluster standby-2 55433 db standby --primary-home "$HOME_DIR/primary" --primary-port 55431
STANDBY_1="$(cluster standby-1 55432 db url)"
STANDBY_2="$(cluster standby-2 55433 db url)"

PIDS=()
trap 'kill -TERM "${PIDS[@]}" 2>/dev/null; wait' INT TERM EXIT
node() {
  DATABASE_URL="$PRIMARY" DATABASE_READ_URL="$2" "$REGISTRY" serve --port "$1" --no-dispatch --no-sync \
    > "$HOME_DIR/node-$1.log" 2>&1 &
  PIDS+=($!)
}
node 8081 "$STANDBY_1"
node 8082 "$STANDBY_1"
node 8083 "$STANDBY_2"
DATABASE_URL="$PRIMARY" "$REGISTRY" dispatch --allow-targets 127.0.0.0/8,::1 > "$HOME_DIR/dispatch.log" 2>&1 &
PIDS+=($!)

for port in 8081 8082 8083; do
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  echo "node $port: $(curl -s "http://127.0.0.1:$port/health/ready")"
done
echo
echo "Try: curl http://127.0.0.1:8083/v1/medicines/cnk/1000000"
echo "An import on the primary reaches every node once its standby has replayed it:"
echo "  DATABASE_URL='$PRIMARY' $REGISTRY import sam <export>"
echo "Logs: $HOME_DIR/node-*.log; Ctrl-C stops the nodes, 'ops/cluster.sh stop' the databases."
wait
