#!/usr/bin/env bash
# Builds Ferry's packages, installing what the build needs first (scripts/setup.sh package-deb|-windows).
#
#   scripts/package.sh             release .deb  (the Tauri bundler from the @tauri-apps/cli npm package)
#   scripts/package.sh --windows   release Windows installer (NSIS), cross-built for x86_64-pc-windows-gnu
#   --debug                        the debug profile instead (what the tests install: ~1 min warm)
#
# The last line of output is the path of the package it made.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

kind=deb profile=release
for arg in "$@"; do
  case $arg in
    --debug) profile=debug ;;
    --windows) kind=windows ;;
    --deb) kind=deb ;;
    *) echo "usage: scripts/package.sh [--deb | --windows] [--debug]" >&2; exit 2 ;;
  esac
done

[ "${FERRY_PACKAGE_SKIP_SETUP:-}" = 1 ] || scripts/setup.sh "package-$kind"
version=$(node -p 'require("./tauri.conf.json").version')
release_flag=(); [ $profile = release ] && release_flag=(--release)

# The UI is embedded in the binary. Rebuilt only when its sources are newer than ui/dist:
# a rebuild touches ui/dist, and cargo then recompiles and relinks the app.
build_ui() {
  if [ ! -f ui/dist/index.html ] || [ -n "$(find ui/src ui/index.html ui/package.json ui/package-lock.json \
      ui/vite.config.ts ui/svelte.config.js -newer ui/dist/index.html -print -quit)" ]; then
    npm --prefix ui run build --silent >&2
  fi
}

if [ $kind = deb ]; then
  say "building the $profile .deb with the Tauri bundler"
  build_ui
  # cargo builds the binaries, `tauri bundle` packages them: every [[bin]] of the package goes
  # to /usr/bin (`ferry`, the command line, and `ferry-window`, which `ferry` execs for the
  # window); the desktop entry starts `ferry` (mainBinaryName). The debug build is exactly the one
  # scripts/test.sh makes for the E2E tests (whole workspace, same features), so in the tests
  # it costs nothing; `tauri build` would compile a third variant (features unify per package).
  if [ $profile = debug ]; then
    cargo build --workspace --features ferry/custom-protocol >&2
  else
    cargo build --release --features custom-protocol --bin ferry --bin ferry-window >&2
  fi
  # TAURI_FRONTEND_PATH: the CLI would take the first package.json it finds (tests/e2e's) for
  # the UI's. --no-binary-patching: the patch only tells Tauri's updater the bundle type; we
  # have no updater, and it would change the binary cargo just built (and relink next time).
  debug_flag=(); [ $profile = debug ] && debug_flag=(--debug)
  TAURI_FRONTEND_PATH=$PWD/ui ui/node_modules/.bin/tauri bundle "${debug_flag[@]}" --bundles deb \
    --features custom-protocol --ci --no-binary-patching >&2
  deb="target/$profile/bundle/deb/Ferry_${version}_amd64.deb"
  [ -f "$deb" ] || { echo "package.sh: the bundler did not produce $deb" >&2; exit 1; }
  rm -rf "${deb%.deb}"  # the bundler's staging copy of the package's files (400 MB when debug)
  echo "$PWD/$deb"
  exit 0
fi

# Windows: the Tauri bundler's NSIS target cannot run offline (it downloads
# nsis_tauri_utils.dll from GitHub at build time, see README "Install"), so the installer is
# made by our own packaging/ferry.nsi with Debian's makensis. On Windows `ferry.exe` is the one
# binary, window included (src-tauri/main.rs says why); ferry-window.exe is not shipped.
target=x86_64-pc-windows-gnu
say "building ferry.exe ($profile) for $target"
build_ui
# The same command as the Windows tests in scripts/test.sh, so there it only links.
cargo build --bin ferry --target $target --features ferry/custom-protocol "${release_flag[@]}" >&2
out="target/$target/$profile"
# On the gnu target wry loads WebView2Loader.dll at run time; webview2-com-sys's build script
# copies it beside the exe.
[ -f "$out/WebView2Loader.dll" ] || { echo "package.sh: no WebView2Loader.dll in $out" >&2; exit 1; }
stage="$out/bundle/nsis/stage"
mkdir -p "$stage"
# Without debug info: a debug exe is ~400 MB of it, which no Windows user can use.
x86_64-w64-mingw32-strip -o "$stage/ferry.exe" "$out/ferry.exe"
cp "$out/WebView2Loader.dll" "$stage/"
setup="$out/bundle/nsis/Ferry_${version}_x64-setup.exe"
compressor=lzma; [ $profile = debug ] && compressor=zlib  # tests: seconds, not a minute
say "making the installer with makensis"
makensis -V2 -NOCD -DVERSION="$version" -DSTAGE="$stage" -DICON=icons/icon.ico \
  -DCOMPRESSOR=$compressor -DOUTFILE="$setup" packaging/ferry.nsi >&2
echo "$PWD/$setup"
