#!/usr/bin/env bash
# Runs every Ferry test on a fresh Debian/Ubuntu machine, installing what is missing:
# UI unit tests (Vitest) and type check, Rust unit + integration tests, the chaos soak, and
# end-to-end tests of the real app window through WebDriver (tauri-driver + WebKitWebDriver)
# under Xvfb.
# Everything runs inside a private D-Bus session with a real Secret Service (gnome-keyring),
# started here and torn down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ -z "${FERRY_TEST_SESSION:-}" ]; then
  scripts/setup.sh test
  tmp=$(mktemp -d /tmp/ferry-test.XXXXXX)
  mkdir -p "$tmp"/{data,config,cache,run}
  chmod 700 "$tmp/run"
  status=0
  # Temp XDG dirs: a fresh login keyring (an old one with another password stays locked).
  XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" \
    XDG_RUNTIME_DIR="$tmp/run" FERRY_TEST_SESSION=1 FERRY_TEST_TMP="$tmp" \
    dbus-run-session -- "$0" "$@" || status=$?
  rm -rf "$tmp"
  if [ $status -eq 0 ]; then say "all tests passed"; else say "tests FAILED (exit $status)"; fi
  exit $status
fi

# --- inside the private session bus ---
say "starting a Secret Service (gnome-keyring) on the private bus"
printf %s ferry-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null

say "UI: unit tests (Vitest), type check, build"
npm --prefix ui test --silent
npm --prefix ui run check --silent
npm --prefix ui run build --silent

say "Rust: unit and integration tests"
# One feature set for every cargo call, so the app binary is built once and embeds ui/dist.
cargo test --workspace --no-fail-fast --features ferry/custom-protocol

# The app, `ferry-mock` (the E2E tests upload to the strict iFlytek mock) and `ferry-soak`.
cargo build --workspace --features ferry/custom-protocol

say "chaos soak: the real ferry against every mock, with faults, kills and a rotated secret"
# ~3 min of chaos plus the drain (FERRY_SOAK_SECS changes it; FERRY_SOAK_SEED replays a run).
target/debug/ferry-soak --ferry target/debug/ferry

say "end-to-end: the real app window under Xvfb"
FERRY_BIN="$PWD/target/debug/ferry" xvfb-run -a -s "-screen 0 1280x800x24" \
  node --test --test-concurrency=1 tests/e2e/

say "Windows: cross-build for x86_64-pc-windows-gnu, headless tests under Wine"
# The whole workspace (the app with its window, the engine, the mocks): a build is
# `cargo check --workspace --target x86_64-pc-windows-gnu` plus code generation and linking,
# in one pass instead of two (a separate check would add minutes). WebView2 is not in Wine:
# the window must compile and link; only the headless CLI runs.
cargo build --workspace --target x86_64-pc-windows-gnu --features ferry/custom-protocol
tests/windows/run.sh target/x86_64-pc-windows-gnu/debug/ferry.exe target/debug/ferry-mock

say "packages: the .deb installed, run and removed; the Windows installer"
# After the E2E and Windows builds: package.sh builds the same binaries (same commands), so
# cargo has nothing to do; it adds the bundling and the installs.
tests/package.sh
