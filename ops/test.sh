#!/usr/bin/env bash
# Runs every test: the Swift tests (real PostgreSQL: their own embedded cluster, or
# TEST_DATABASE_URL) and the OpenAPI conformance check of the running server. Installs what they need.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
ops/install-prerequisites.sh
# The independent Standard Webhooks implementation the webhook tests verify our signatures with.
python3 -c "import standardwebhooks" 2>/dev/null \
  || python3 -m pip install -q --root-user-action=ignore "standardwebhooks==1.1.0"
# The independent FHIR R5 models and FHIR client the FHIR tests validate and search with.
python3 -c "import fhir.resources, fhirpy" 2>/dev/null \
  || python3 -m pip install -q --root-user-action=ignore "fhir.resources==8.3.0" "fhirpy==2.3.1"
# Formatting is part of the tests: the whole tree passes `swift format lint --strict` (.swift-format).
swift format lint --strict --recursive Sources Tests ops/bench/WebhookSink ops/bench/SAMDownloadFake Package.swift
swift build --build-tests
status=0
ops/run-swift-tests.sh "${TEST_TIMEOUT:-1200}" "$@" || status=$?
# The running server against its OpenAPI description (schemathesis); skipped when a filter was given.
if [ $# -eq 0 ]; then
  ops/openapi-check.sh || status=$?
fi
# Leave nothing running: the test cluster is stopped after the run.
REGISTRY_HOME="$PWD/.registry-test" .build/debug/registry db stop >/dev/null 2>&1 || true
exit $status
