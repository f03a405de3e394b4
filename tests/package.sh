#!/usr/bin/env bash
# The packages as people install them. Builds the debug .deb with scripts/package.sh, installs
# it with dpkg (the real one as root, as in CI; otherwise, or when a `ferry` package is already
# installed here, into a throw-away dpkg root), runs the installed `ferry` headless (version,
# an account whose secret goes to the Secret Service, an upload checked byte for byte), checks
# the desktop entry and the icons are where the desktop looks, removes the package and checks
# it is gone. Then builds the Windows installer, installs it silently under Wine, runs the
# installed ferry.exe, uninstalls it and checks it is gone.
#
# Usage: tests/package.sh    (scripts/test.sh runs it inside its private D-Bus + keyring session;
#                             alone, it starts one of its own). Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if [ -z "${FERRY_TEST_SESSION:-}" ]; then
  t=$(mktemp -d /tmp/ferry-pkgtest.XXXXXX); mkdir -p "$t"/{data,config,cache,run}; chmod 700 "$t/run"
  XDG_DATA_HOME="$t/data" XDG_CONFIG_HOME="$t/config" XDG_CACHE_HOME="$t/cache" XDG_RUNTIME_DIR="$t/run" \
    FERRY_TEST_SESSION=1 dbus-run-session -- bash -c \
    'printf %s ferry-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0"' "$0"
  status=$?; rm -rf "$t"; exit $status
fi

started=$SECONDS
passed=0 failed=0
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $what"
  else failed=$((failed + 1)); echo "FAIL $what" >&2; fi
}
finish() {
  echo "package tests: $passed passed, $failed failed ($((SECONDS - started)) s)"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}
tmp=$(mktemp -d /tmp/ferry-pkg.XXXXXX)
real_install="" wine_prefix=""
cleanup() { # never leave the package installed on this machine, nor a Wine server running
  [ -n "$real_install" ] && dpkg-query -W -f='${Status}' ferry 2>/dev/null | grep -q 'ok installed' && dpkg -r ferry >/dev/null
  [ -n "$wine_prefix" ] && WINEPREFIX="$wine_prefix" wineserver -k 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
version=$(node -p 'require("./tauri.conf.json").version')

# --- the .deb ---------------------------------------------------------------------------------
deb=$(FERRY_PACKAGE_SKIP_SETUP=1 scripts/package.sh --deb --debug | tail -n 1)
check "scripts/package.sh --debug made a .deb ($deb)" test -f "$deb"
[ -f "$deb" ] || finish

field() { dpkg-deb -f "$deb" "$1"; }
check "the package is called ferry, version $version" test "$(field Package) $(field Version)" = "ferry $version"
# The bundler declares these itself (the AppIndicator one because the app links it).
check "it depends on WebKitGTK 4.1" grep -q 'libwebkit2gtk-4\.1-0' <<<"$(field Depends)"
check "it depends on GTK 3" grep -q 'libgtk-3-0' <<<"$(field Depends)"
check "it depends on an AppIndicator library (the tray)" grep -q 'libayatana-appindicator3-1' <<<"$(field Depends)"
check "it recommends a Secret Service (gnome-keyring or another)" grep -q 'gnome-keyring |' <<<"$(field Recommends)"
# Two programs: `ferry` (the command line, no GUI library) and `ferry-window`, which it execs.
dpkg-deb --fsys-tarfile "$deb" | tar -xO usr/bin/ferry > "$tmp/ferry.bin" && chmod +x "$tmp/ferry.bin"
dpkg-deb --fsys-tarfile "$deb" | tar -xO usr/bin/ferry-window > "$tmp/ferry-window.bin" && chmod +x "$tmp/ferry-window.bin"
check "the package has /usr/bin/ferry-window (the window)" test -s "$tmp/ferry-window.bin"
check "/usr/bin/ferry links no GUI library (no WebKitGTK, GTK, GStreamer)" bash -c \
  '! ldd "$1" | grep -E "libwebkit2gtk|libjavascriptcoregtk|libgtk-3|libgdk-3|libgst"' _ "$tmp/ferry.bin"
check "  …while ferry-window links WebKitGTK" bash -c 'ldd "$1" | grep -q libwebkit2gtk-4\.1' _ "$tmp/ferry-window.bin"
# Every library the installed binaries link must come with a declared dependency (or libc).
declared=$(field Depends | tr ',' '\n' | sed 's/([^)]*)//; s/[[:space:]]//g' | grep .)
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $declared 2>/dev/null | grep -v '^ ' | sed 's/:.*//' | sort -u)
libs=$(ldd "$tmp/ferry.bin" "$tmp/ferry-window.bin" | awk '/=>/ {print $3}' | xargs -r readlink -f | sort -u)
# One dpkg -S for all (it is slow per call); usrmerge: dpkg may know a file under /lib.
owners=$(dpkg -S $libs $(sed 's|^/usr||' <<<"$libs") 2>/dev/null)
undeclared=()
for lib in $libs; do
  pkg=$(awk -v a="$lib" -v b="${lib#/usr}" -F': ' '$2 == a || $2 == b {print $1; exit}' <<<"$owners" | cut -d: -f1)
  case $pkg in libc6|libgcc-s1) continue ;; esac
  grep -qx "$pkg" <<<"$closure" || undeclared+=("${pkg:-?} (${lib##*/})")
done
check "every shared library ferry and ferry-window link ($(wc -w <<<"$libs")) comes with a declared dependency${undeclared:+ (not: ${undeclared[*]})}" \
  test ${#undeclared[@]} -eq 0

# FERRY_PACKAGE_TEST_ROOT=throwaway uses the throw-away root even as root.
if [ "$(id -u)" -eq 0 ] && [ "${FERRY_PACKAGE_TEST_ROOT:-}" != throwaway ] && ! dpkg-query -W -f='${Status}' ferry 2>/dev/null | grep -q 'ok installed'; then
  root="" dpkg_cmd=(dpkg) real_install=1
  echo "installing with the system's dpkg (root)"
else
  root="$tmp/root"
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
  : > "$root/var/lib/dpkg/status"
  # Libraries come from the host; this root only records what the package put where.
  dpkg_cmd=(dpkg --root="$root" --force-not-root --force-depends --log="$root/var/log/dpkg.log")
  [ "$(id -u)" -eq 0 ] || dpkg_cmd=(fakeroot "${dpkg_cmd[@]}")
  echo "installing into a throw-away dpkg root: $root"
fi
check "dpkg -i installs it" "${dpkg_cmd[@]}" -i "$deb"
check "dpkg records it as installed" grep -q 'install ok installed' <<<"$("${dpkg_cmd[@]}" -s ferry 2>/dev/null)"

bin="$root/usr/bin/ferry"
if [ -z "$root" ]; then
  check "ferry is on PATH as /usr/bin/ferry" test "$(command -v ferry)" = /usr/bin/ferry
fi
check "the installed ferry is executable" test -x "$bin"
check "  …and so is ferry-window beside it" test -x "$root/usr/bin/ferry-window"

# Headless: no display at all; a data dir of its own.
data="$tmp/data"
ferry() { env -u DISPLAY -u WAYLAND_DISPLAY FERRY_DATA_DIR="$data" "$bin" "$@"; }
check "ferry --version prints ferry $version" test "$(ferry --version)" = "ferry $version"
check "ferry account list runs headless on a new data dir (nothing yet)" test -z "$(ferry account list)"
secret="pkg-secret-$$-$RANDOM"
check "ferry account add stores an iFlytek account" ferry account add speech --provider xfyun --set app_id=4CC5779A --endpoint http://127.0.0.1:9 \
  <<<"api_key=k-$$
api_secret=$secret"
check "ferry account add stores a local account" ferry account add disk --provider local --set root="$tmp/dest"
list=$(ferry account list)
check "ferry account list shows both" grep -q $'^disk\tlocal' <<<"$list"
check "  …including the iFlytek one" grep -q $'^speech\txfyun' <<<"$list"
check "the secret is in the Secret Service, not printed" bash -c \
  'secret-tool search --all service app.ferry.uploader 2>&1 | grep -qF "$1" && ! grep -qF "$1" <<<"$2"' _ "$secret" "$list"
head -c 3000000 /dev/urandom > "$tmp/recording.bin"
check "ferry upload queues a file" ferry upload "$tmp/recording.bin" --account disk
check "ferry run --until-idle uploads it" ferry run --until-idle
check "the uploaded bytes are the file's (SHA-1)" test "$(sha1sum < "$tmp/recording.bin")" = "$(cat "$tmp"/dest/recording.bin 2>/dev/null | sha1sum)"

# The desktop looks in /usr/share/applications and /usr/share/icons/hicolor/<size>/apps.
desktop="$root/usr/share/applications/Ferry.desktop"
check "the desktop entry is in /usr/share/applications" test -f "$desktop"
check "  …and desktop-file-validate accepts it" desktop-file-validate "$desktop"
check "  …it launches ferry" grep -qx 'Exec=ferry' "$desktop"
icon=$(sed -n 's/^Icon=//p' "$desktop")
check "  …with the icon name ferry" test "$icon" = ferry
# Only directories the hicolor theme declares (the bundler once put a 256 px icon in 256x256@2).
for dir in $(dpkg-deb -c "$deb" | awk '$1 ~ /^d/ {print $6}' | grep -o 'hicolor/[^/]*/apps/\{0,1\}$' | cut -d/ -f2,3); do
  check "hicolor declares $dir" grep -qxF "[$dir]" /usr/share/icons/hicolor/index.theme
done
for size in 16x16 24x24 32x32 48x48 64x64 128x128 256x256 512x512; do
  png="$root/usr/share/icons/hicolor/$size/apps/$icon.png"
  check "icon $size is in hicolor and is $size pixels" bash -c \
    'file "$1" | grep -q "PNG image data, ${2/x/ x },"' _ "$png" "$size"
done

check "dpkg -r removes it" "${dpkg_cmd[@]}" -r ferry
check "dpkg no longer lists it as installed" bash -c '! "$@" -s ferry 2>/dev/null | grep -q "install ok installed"' _ "${dpkg_cmd[@]}"
check "the binaries are gone" test ! -e "$bin" -a ! -e "$root/usr/bin/ferry-window"
check "the desktop entry is gone" test ! -e "$desktop"
check "no ferry icon is left in hicolor" test -z "$(find "$root/usr/share/icons/hicolor" -name "$icon.png" 2>/dev/null)"
[ -z "$root" ] && check "ferry is no longer on PATH" bash -c '! command -v ferry'

# --- the Windows installer ----------------------------------------------------------------------
setup=$(FERRY_PACKAGE_SKIP_SETUP=1 scripts/package.sh --windows --debug | tail -n 1)
check "scripts/package.sh --windows --debug made an installer ($setup)" test -f "$setup"
[ -f "$setup" ] || finish
check "it is a 64-bit Windows program" bash -c 'file "$1" | grep -q "PE32+ executable (GUI) x86-64"' _ "$setup"
check "  …that is an NSIS installer (its data header)" grep -a -q NullsoftInst "$setup"

# Installed silently under Wine, in a throw-away prefix, as tests/windows/run.sh sets it up.
wine=$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)
check "Wine is installed (scripts/setup.sh test installs wine64)" test -x "$wine"
[ -x "$wine" ] || finish
export WINEPREFIX="$tmp/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export PATH="/usr/lib/wine:$PATH"
wine_prefix=$WINEPREFIX
"$wine" wineboot --init >/dev/null 2>&1; wineserver -w
sys32="$WINEPREFIX/drive_c/windows/system32"
[ -e "$sys32/bcryptprimitives.dll" ] || check "Wine 8.0 lacks bcryptprimitives.dll: the test-only stand-in builds" \
  x86_64-w64-mingw32-gcc -shared -O2 -o "$sys32/bcryptprimitives.dll" \
  tests/windows/bcryptprimitives.c tests/windows/bcryptprimitives.def -ladvapi32
dir="$WINEPREFIX/drive_c/Program Files/Ferry"
lnk="$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/Ferry.lnk"
uninst='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Ferry'
# /NOWEBVIEW2: Wine has no WebView2, and the installer would try to fetch Microsoft's bootstrapper.
check "the installer runs silently (/S)" "$wine" "$setup" /S /NOWEBVIEW2
wineserver -w  # until every Wine process of the prefix has ended
stage="$(dirname "$setup")/stage"
check "ferry.exe is in Program Files\\Ferry, the exe that was built" cmp -s "$dir/ferry.exe" "$stage/ferry.exe"
check "  …beside WebView2Loader.dll" cmp -s "$dir/WebView2Loader.dll" "$stage/WebView2Loader.dll"
check "  …and uninstall.exe" test -f "$dir/uninstall.exe"
check "the Start-menu shortcut is there" test -f "$lnk"
check "Apps & features lists Ferry $version" bash -c \
  '"$1" reg query "$2" /v DisplayVersion 2>/dev/null | grep -q "$3"' _ "$wine" "$uninst" "$version"
winpath() { printf 'Z:%s' "${1//\//\\}"; }
check "the installed ferry.exe --version prints ferry $version" \
  test "$("$wine" "$dir/ferry.exe" --version 2>/dev/null | tr -d '\r')" = "ferry $version"
mkdir -p "$tmp/windata"
check "the installed ferry.exe account list runs on a new data dir (nothing yet)" bash -c \
  'out=$("$1" "$2" --data-dir "$3" account list) && [ -z "$(tr -d "\r" <<<"$out")" ]' _ "$wine" "$dir/ferry.exe" "$(winpath "$tmp/windata")"
check "the uninstaller runs silently (/S)" "$wine" "$dir/uninstall.exe" /S
wineserver -w  # the NSIS uninstaller finishes from a copy of itself in %TEMP%
check "Program Files\\Ferry is gone" test ! -e "$dir"
check "the Start-menu shortcut is gone" test ! -e "$lnk"
check "Apps & features no longer lists Ferry" bash -c '! "$1" reg query "$2" >/dev/null 2>&1' _ "$wine" "$uninst"

finish
