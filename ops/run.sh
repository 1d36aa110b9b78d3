#!/usr/bin/env bash
# Quick start: builds the registry (release), starts the embedded PostgreSQL under .registry/,
# migrates, generates a small demo SAM export and imports it. The database keeps running;
# `registry db stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
ops/install-prerequisites.sh
swift build -c release --scratch-path .build-release --product registry
REGISTRY=.build-release/release/registry
$REGISTRY db start
$REGISTRY migrate
if [ ! -f .registry/demo/generator.json ]; then
  $REGISTRY generate sam --scale "${DEMO_SCALE:-0.02}" --seed 1 --out .registry/demo
fi
$REGISTRY import sam .registry/demo
echo
echo "Registry ready: database $($REGISTRY db url) (stop it with: $REGISTRY db stop)"
