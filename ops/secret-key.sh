#!/usr/bin/env bash
# Sourced by the ops scripts that start `registry serve` or `registry dispatch`: when
# REGISTRY_SECRET_KEY (the AES-256 key that encrypts webhook signing secrets at rest) is not set,
# uses the key kept in $1/secret.key, generating it there (mode 0600) the first time. The key
# stays with the cluster it encrypts for: losing it makes the stored secrets unreadable.
registry_secret_key() {
  local dir="$1"
  if [ -z "${REGISTRY_SECRET_KEY:-}" ]; then
    mkdir -p "$dir"
    if [ ! -s "$dir/secret.key" ]; then
      (umask 077 && head -c 32 /dev/urandom | base64 > "$dir/secret.key")
    fi
    chmod 600 "$dir/secret.key"
    REGISTRY_SECRET_KEY="$(cat "$dir/secret.key")"
    export REGISTRY_SECRET_KEY
  fi
}
