#!/usr/bin/env bash
# Runs the built Swift tests (`swift test --skip-build ARGS`) for at most LIMIT seconds.
# Usage: ops/run-swift-tests.sh LIMIT [ARGS...]
# Output is line-buffered, so a run cut short still shows what it printed. A run that outlives
# LIMIT fails with 124 after printing the tests that started and never finished, and the
# threads of the test process (gdb), so a hang can be diagnosed from the CI log alone.
set -uo pipefail
cd "$(dirname "$0")/.."
limit="$1"
shift
# At most 12 tests at once: each may start servers, child processes and database pools, and with
# every test of the suite running at once on two cores the slowest ones outlive their time limits
# (measured: the whole suite passes in ~6 min with 12, while unbounded it times out).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-12}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
stdbuf -oL -eL swift test --skip-build "$@" > >(tee "$log") 2>&1 &
runner=$!
deadline=$((SECONDS + limit))
while kill -0 "$runner" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "::: swift test still running after ${limit}s; tests started and not finished:"
    comm -23 \
      <(sed -nE 's/^.* Test ([^ ]+) started\.$/\1/p' "$log" | grep -vx run | sort -u) \
      <(sed -nE 's/^.* Test ([^ ]+) (with [0-9]+ test cases )?(passed|failed|skipped).*/\1/p' "$log" | sort -u)
    for pid in $(pgrep -f 'PackageTests.xctest'); do
      echo "::: child processes of the test process $pid:"
      ps --ppid "$pid" -o pid,etimes,args || true
      echo "::: threads of the test process $pid:"
      timeout 120 gdb -p "$pid" -batch -ex 'thread apply all bt 16' 2>/dev/null \
        | grep -E '^(Thread|#)' | head -500 || true
    done
    for pid in $(pgrep -f 'PackageTests.xctest'); do pkill -KILL -P "$pid" || true; done
    pkill -KILL -f 'PackageTests.xctest' || true
    kill -KILL "$runner" 2>/dev/null || true
    wait "$runner" 2>/dev/null
    exit 124
  fi
  sleep 2
done
wait "$runner"
