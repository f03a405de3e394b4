#!/usr/bin/env bash
# Builds and opens Ferry on a fresh Debian/Ubuntu machine, installing what is missing.
# Arguments are passed to the app (e.g. `scripts/run.sh account list`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
npm --prefix ui run build --silent
cargo build --features custom-protocol
exec target/debug/ferry "$@"
