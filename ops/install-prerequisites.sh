#!/usr/bin/env bash
# Installs the system packages the registry needs (Debian): libxml2, zlib and SQLite headers for the
# build, PostgreSQL server + contrib for the embedded database, xmllint for benchmarks, openssl
# for the sync tests' throw-away certificates.
set -euo pipefail
need=()
for pkg in libxml2-dev zlib1g-dev libsqlite3-dev postgresql postgresql-contrib libxml2-utils openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH (expected /opt/swift/usr/bin)"; exit 1; }
