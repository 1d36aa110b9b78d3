#!/usr/bin/env bash
# Runs every test. Installs prerequisites; the tests start their own embedded PostgreSQL
# (or use TEST_DATABASE_URL when set) and stop it when done.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
ops/install-prerequisites.sh
swift build --build-tests
status=0
swift test --skip-build "$@" || status=$?
# Leave nothing running: the test cluster is stopped after the run.
REGISTRY_HOME="$PWD/.registry-test" .build/debug/registry db stop >/dev/null 2>&1 || true
exit $status
