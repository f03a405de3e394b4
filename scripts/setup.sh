#!/usr/bin/env bash
# Installs what Ferry needs on Debian/Ubuntu and is missing: system packages (apt, with sudo
# when not root), npm packages (npm ci) and, for tests, tauri-driver. Safe to run again.
# Usage: scripts/setup.sh [run|test|bench|package-deb|package-windows]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

build_pkgs="libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev build-essential pkg-config curl file fonts-noto-cjk"
run_pkgs="xvfb xauth dbus dbus-x11 gnome-keyring"
test_pkgs="webkit2gtk-driver libsecret-tools imagemagick python3 x11-utils ca-certificates"  # python3: the E2E 100k-job fixture; x11-utils: xwininfo (is the window on screen?); ca-certificates: a system CA store (tests/app/tls.rs: a test CA must be refused by it)
package_test_pkgs="desktop-file-utils fakeroot"  # the .deb install test: validate the desktop entry; install without root
windows_pkgs="nsis gcc-mingw-w64-x86-64"   # the Windows installer: makensis, and the cross linker
bench_pkgs="rclone time bsdextrautils"  # bench.sh: rclone copy is a baseline; /usr/bin/time measures RSS + CPU; column
# The Windows build: mingw links it, Wine runs its headless tests (tests/windows/run.sh).
test_pkgs="$test_pkgs wine64"
case $mode in
  run|package-deb) pkgs="$build_pkgs" ;;
  package-windows) pkgs="$build_pkgs $windows_pkgs" ;;
  test) pkgs="$build_pkgs $run_pkgs $test_pkgs $package_test_pkgs $windows_pkgs" ;;
  bench) pkgs="$build_pkgs $run_pkgs $bench_pkgs" ;;
  *) echo "usage: scripts/setup.sh [run|test|bench|package-deb|package-windows]" >&2; exit 2 ;;
esac

missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The UI toolchain (Vite 8, Vitest 4) needs Node.js 20.19 or newer; Debian 12's own is 18.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Node.js $(node -v 2>/dev/null || echo '(none)') is too old: install Node.js 20 or newer, then run this again." >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust is not installed: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
npm_ci() {
  local dir=$1 stamp="$1/node_modules/.ferry-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    say "npm ci in $dir"
    npm --prefix "$dir" ci --no-audit --no-fund --loglevel=error
    cp "$dir/package-lock.json" "$stamp"
  fi
}
npm_ci ui
if [ "$mode" = test ] || [ "$mode" = package-windows ]; then
  if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
    say "installing the Rust standard library for x86_64-pc-windows-gnu"
    rustup target add x86_64-pc-windows-gnu
  fi
fi
if [ "$mode" = test ]; then
  npm_ci tests/e2e
  if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
    say "installing tauri-driver"
    cargo install tauri-driver --locked --version '^2' --quiet
  fi
fi
