#!/usr/bin/env bash
# Upload throughput, Ferry next to curl and a bare SHA-1 in the same run, and a watch over a
# 100,000-file tree next to find (release builds).
# Runs inside a private D-Bus session with a Secret Service, like the tests.
# Env: FERRY_BENCH_SIZE_MIB (default 1024).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test >/dev/null
tmp=$(mktemp -d /tmp/ferry-bench.XXXXXX)
mkdir -p "$tmp"/{data,config,cache,run}
chmod 700 "$tmp/run"
trap 'rm -rf "$tmp"' EXIT
cargo build --release -p ferry-engine --benches
XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/run" \
  dbus-run-session -- sh -c 'printf %s bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
    cargo bench -q -p ferry-engine --bench upload && exec cargo bench -q -p ferry-engine --bench watch'
