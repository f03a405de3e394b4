#!/usr/bin/env bash
# Ferry's Windows build, tested under Wine: the headless `ferry.exe` (cross-built for
# x86_64-pc-windows-gnu) against a real local folder and the strict iFlytek mock, which runs
# natively on Linux at 127.0.0.1. Secrets go through Wine's Credential Manager (the keyring
# crate's `windows-native` store), the real one as Wine implements it.
#
# Usage: tests/windows/run.sh [FERRY_EXE [FERRY_MOCK]]
#   defaults: target/x86_64-pc-windows-gnu/debug/ferry.exe and target/debug/ferry-mock
# Prints one line per check and a closing "N passed, N failed"; exits 1 if anything failed.
# A missing tool or a failing setup step fails loudly too: nothing here is ever skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
exe=$(realpath "${1:-target/x86_64-pc-windows-gnu/debug/ferry.exe}")
mock_bin=$(realpath "${2:-target/debug/ferry-mock}")
passed=0 failed=0
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "windows tests: $*" >&2; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
bad() { echo "FAIL - $1"; failed=$((failed + 1)); }

wine=$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)
[ -x "$wine" ] || die "wine64 is not installed (scripts/setup.sh test installs it)"
command -v x86_64-w64-mingw32-gcc >/dev/null || die "mingw (gcc-mingw-w64-x86-64) is not installed"
[ -f "$exe" ] || die "no $exe: cargo build --target x86_64-pc-windows-gnu --bin ferry first"
[ -x "$mock_bin" ] || die "no $mock_bin: cargo build -p ferry-mock-providers first"

tmp=$(mktemp -d /tmp/ferry-wine.XXXXXX)
mock_pid=""
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  WINEPREFIX="$tmp/prefix" wineserver -k 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# A throw-away prefix; no Mono/Gecko (they would be offered for download), no debug chatter.
export WINEPREFIX="$tmp/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export PATH="/usr/lib/wine:$PATH"  # wineserver next to Debian's wine64
say "Wine: a fresh prefix ($("$wine" --version))"
"$wine" wineboot --init >/dev/null 2>&1 || die "wineboot failed"
wineserver -w
sys32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -e "$sys32/bcryptprimitives.dll" ]; then
  # Wine < 8.13: Rust's std needs ProcessPrng; a test-only stand-in (see bcryptprimitives.c).
  x86_64-w64-mingw32-gcc -shared -O2 -o "$sys32/bcryptprimitives.dll" \
    tests/windows/bcryptprimitives.c tests/windows/bcryptprimitives.def -ladvapi32 ||
    die "cannot build the bcryptprimitives stand-in"
  echo "(Wine $("$wine" --version) has no bcryptprimitives.dll: using the test-only stand-in)"
fi
x86_64-w64-mingw32-gcc -O2 -municode -o "$tmp/hold.exe" tests/windows/hold.c || die "cannot build hold.exe"
# Without its debug info (Wine loads a 400 MB debug exe in ~9 s, this in <1 s), beside the
# WebView2Loader.dll it imports, as an installed ferry.exe sits.
mkdir -p "$tmp/bin"
x86_64-w64-mingw32-strip -o "$tmp/bin/ferry.exe" "$exe" || die "cannot strip $exe"
cp "$(dirname "$exe")/WebView2Loader.dll" "$tmp/bin/" || die "no WebView2Loader.dll beside $exe"
exe="$tmp/bin/ferry.exe"
wineserver -p  # one wineserver for every process below

# Windows' view of a Linux path: Wine maps / to Z:.
win() { printf 'Z:%s' "${1//\//\\}"; }
data="$tmp/data"
ferry() { "$wine" "$exe" --data-dir "$(win "$data")" "$@"; }
sha1() { sha1sum "$1" | cut -d' ' -f1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# One field of one job from `ferry queue --json` (one JSON object per line).
job_field() {
  ferry queue --json | python3 -c "import json,sys; print(next(str(j.get('$2')) for j in map(json.loads, filter(str.strip, sys.stdin)) if j['id'] == $1))"
}
mock_state() { python3 -c "import json,urllib.request; print(json.dumps(json.load(urllib.request.urlopen('$mock_url/__mock/state'))))"; }
mock_reset() { python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('$mock_url/__mock/reset', method='POST'))"; }
random_file() { head -c "$2" /dev/urandom >"$1"; }

say "starting the iFlytek mock on 127.0.0.1"
key="k-$RANDOM$RANDOM" secret="s-$RANDOM$RANDOM-never-in-sqlite"
"$mock_bin" xfyun --port 0 --app-id WINAPP --api-key "$key" --api-secret "$secret" \
  --data-dir "$tmp/mock" >"$tmp/mock.out" 2>&1 &
mock_pid=$!
: >"$tmp/mock.out"
for _ in $(seq 100); do grep -q '^listening on ' "$tmp/mock.out" && break; sleep 0.1; done
mock_url=$(sed -n 's/^listening on //p' "$tmp/mock.out")
[ -n "$mock_url" ] || die "the mock did not start: $(cat "$tmp/mock.out")"

say "1. accounts: a secret into the Credential Manager, read back by fresh processes"
mkdir -p "$tmp/disk"
ferry account add disk --provider local --set "root=$(win "$tmp/disk")" </dev/null >/dev/null &&
  ok "local account added" || bad "local account added"
printf 'api_key=%s\napi_secret=%s\n' "$key" "$secret" |
  ferry account add cloud --provider xfyun --endpoint "$mock_url" --set app_id=WINAPP --set oneshot_max_bytes=1000 >/dev/null &&
  ok "xfyun account added with its secrets on stdin" || bad "xfyun account added with its secrets on stdin"
names=$(ferry account list --json | python3 -c "import json,sys; print(' '.join(sorted(json.loads(l)['name'] for l in sys.stdin if l.strip())))")
[ "$names" = "cloud disk" ] && ok "a fresh process lists both accounts" || bad "account list says '$names'"
# Only a real store persists across processes (keyring's in-memory fallback would not).
ferry account test cloud >/dev/null && ok "a fresh process reads the secret back and signs with it" ||
  bad "account test cloud (secret read back from the Credential Manager)"
# Wine keeps credentials (encrypted) under this key: one value set per stored secret.
creds=$("$wine" reg query 'HKCU\Software\Wine\Credential Manager' /s 2>/dev/null | grep -c 'app.ferry.uploader')
[ "${creds:-0}" -ge 2 ] && ok "api_key and api_secret are in Wine's Credential Manager" ||
  bad "expected 2 Credential Manager entries for app.ferry.uploader, found ${creds:-0}"
if grep -rqa -- "$secret" "$data" "$tmp"/*.out; then bad "the secret leaked into the data dir"; else ok "no secret in the data dir"; fi

say "2. upload to local: byte-exact, a long path, a name in Chinese"
src="$tmp/src"
deep="$src/$(printf 'a-rather-long-folder-name-%02d/' $(seq 1 10))"
mkdir -p "$deep"
random_file "$src/big.bin" $((3 * 1024 * 1024 + 17))
random_file "$src/文件.txt" 1000
random_file "$deep/deep.bin" 4096
printf '' >"$src/empty"
[ ${#deep} -gt 260 ] || die "the deep path is too short to test long paths"
ferry config set part_size 1048576 >/dev/null
ferry upload "$(win "$src/big.bin")" "$(win "$src/文件.txt")" "$(win "$deep/deep.bin")" "$(win "$src/empty")" \
  --account disk --to in/box >/dev/null || bad "upload to local queued"
ferry run --until-idle >"$tmp/run2.out" 2>&1 && ok "run --until-idle: every job done" || bad "run --until-idle exit code (see below)"
for f in big.bin 文件.txt deep.bin empty; do
  s=$(find "$src" -name "$f" -type f | head -1)
  [ -f "$tmp/disk/in/box/$f" ] && [ "$(sha1 "$s")" = "$(sha1 "$tmp/disk/in/box/$f")" ] &&
    ok "local: $f byte-exact" || bad "local: $f missing or different"
done
[ ! -e "$tmp/disk/in/box/.ferry-staging" ] && ok "local: no staging left" || bad "local: staging left behind"
# A destination deeper than MAX_PATH: staging and the no-replace publish (MoveFileExW) there.
long_to=$(printf 'destination-folder-with-a-long-name-%02d/' $(seq 1 8))
long_dir="$tmp/disk/$long_to"
[ ${#long_dir} -gt 260 ] || die "the long destination is too short to test long paths"
ferry upload "$(win "$deep/deep.bin")" --account disk --to "${long_to%/}" >/dev/null && ferry run --until-idle >/dev/null 2>&1
[ "$(sha1 "${long_dir}deep.bin" 2>/dev/null)" = "$(sha1 "$deep/deep.bin")" ] &&
  ok "local: published into a folder ${#long_dir} characters long" || bad "local: upload into a folder longer than MAX_PATH"
# The same name again: published beside it, never over it.
ferry upload "$(win "$src/big.bin")" --account disk --to in/box >/dev/null && ferry run --until-idle >/dev/null 2>&1
[ "$(sha1 "$tmp/disk/in/box/big (1).bin")" = "$(sha1 "$src/big.bin")" ] && ok "local: a second copy is \"big (1).bin\", the first untouched" ||
  bad "local: second copy not published as \"big (1).bin\""

say "3. upload to the iFlytek mock: byte-exact"
random_file "$src/sliced.bin" $((11 * 1024 * 1024 + 5))
ferry config set part_size 5242880 >/dev/null
ferry upload "$(win "$src/sliced.bin")" "$(win "$src/文件.txt")" --account cloud >/dev/null || bad "upload to xfyun queued"
ferry run --until-idle >"$tmp/run3.out" 2>&1 && ok "run --until-idle to the mock: every job done" || bad "run --until-idle to the mock"
state=$(mock_state)
for f in sliced.bin 文件.txt; do
  h=$(sha1 "$src/$f")
  echo "$state" | json "any(o['sha1_hex'].lower() == '$h' for o in d['objects'])" | grep -q True &&
    ok "mock: $f stored byte-exact (SHA-1 at the server)" || bad "mock: $f not stored byte-exact"
done

say "4. kill -9 in the middle of an upload, then resume"
mock_reset
size=$((26 * 1024 * 1024))
random_file "$src/resume.bin" $size
ferry config set bandwidth $((4 * 1024 * 1024)) >/dev/null
job=$(ferry upload "$(win "$src/resume.bin")" --account cloud)
"$wine" "$exe" --data-dir "$(win "$data")" run >"$tmp/run4.out" 2>&1 &
runner=$!
acked=0
for _ in $(seq 600); do
  acked=$(job_field "$job" bytes_acked 2>/dev/null || echo 0)
  [ "${acked:-0}" -gt 0 ] && break
  sleep 0.2
done
kill -9 "$runner" 2>/dev/null
wait "$runner" 2>/dev/null
job_state=$(job_field "$job" state)
if [ "${acked:-0}" -gt 0 ] && [ "$acked" -lt $size ] && [ "$job_state" != done ]; then
  ok "killed with $acked of $size bytes acknowledged (state $job_state)"
else
  bad "not killed mid-way: acknowledged ${acked:-?} of $size, state $job_state"
fi
ferry config set bandwidth 0 >/dev/null
ferry run --until-idle >"$tmp/run4b.out" 2>&1 && ok "the next run finished the job" || bad "the next run did not finish the job"
state=$(mock_state)
h=$(sha1 "$src/resume.bin")
echo "$state" | json "any(o['sha1_hex'].lower() == '$h' for o in d['objects'])" | grep -q True &&
  ok "mock: resumed file byte-exact" || bad "mock: resumed file not byte-exact"
inits=$(echo "$state" | json "d['stats']['inits']")
[ "$inits" = 1 ] && ok "resumed the same upload session (1 init)" || bad "the upload started over ($inits inits)"
sent=$(echo "$state" | json "d['stats']['slice_bytes_received']")
[ "$sent" -le $((size + 5242880)) ] && ok "acknowledged slices not sent again ($sent bytes for $size)" ||
  bad "slices sent again: $sent bytes received for $size"

say "5. a file another program holds open without sharing"
random_file "$src/held.bin" 2048
rm -f "$tmp/release"
: >"$tmp/hold.out"
"$wine" "$tmp/hold.exe" "$(win "$src/held.bin")" "$(win "$tmp/release")" >"$tmp/hold.out" 2>&1 &
holder=$!
for _ in $(seq 100); do grep -q holding "$tmp/hold.out" && break; sleep 0.1; done
grep -q holding "$tmp/hold.out" || bad "hold.exe did not take the file: $(cat "$tmp/hold.out")"
ferry config set job_attempts 1 >/dev/null
job=$(ferry upload "$(win "$src/held.bin")" --account disk --to held 2>"$tmp/upload5.err")
grep -q "in use by another program" "$tmp/upload5.err" && [ -n "$job" ] &&
  ok "upload queues a held file and says it is in use by another program" || bad "upload of a held file: job '$job', $(cat "$tmp/upload5.err")"
if ferry run --until-idle >"$tmp/run5.out" 2>&1; then bad "a held file uploaded?"; else ok "run --until-idle cannot read the held file"; fi
error=$(job_field "${job:-0}" error 2>/dev/null)
case "$error" in
  *"in use by another program"*) ok "the job's error says the file is in use by another program" ;;
  *) bad "unclear error for a held file: $error" ;;
esac
touch "$tmp/release"
wait "$holder"
ferry resume "${job:-0}" >/dev/null && ferry run --until-idle >/dev/null 2>&1 &&
  [ "$(sha1 "$tmp/disk/held/held.bin")" = "$(sha1 "$src/held.bin")" ] &&
  ok "released, resumed: uploaded byte-exact" || bad "the released file did not upload"

say "6. a watched folder waits for a file another program holds open"
w="$tmp/watched"
mkdir -p "$w"
random_file "$w/free.bin" 3000
random_file "$w/held.bin" 5000
touch -d '1 hour ago' "$w/free.bin" "$w/held.bin"  # settled by mtime: only the hold keeps it back
free_sha=$(sha1 "$w/free.bin")
rm -f "$tmp/release6"
: >"$tmp/hold6.out"
"$wine" "$tmp/hold.exe" "$(win "$w/held.bin")" "$(win "$tmp/release6")" >"$tmp/hold6.out" 2>&1 &
holder=$!
for _ in $(seq 100); do grep -q holding "$tmp/hold6.out" && break; sleep 0.1; done
grep -q holding "$tmp/hold6.out" || bad "hold.exe did not take the watched file: $(cat "$tmp/hold6.out")"
archive="$tmp/archive"
mkdir -p "$archive"
echo "someone else's" >"$archive/free.bin"  # the move must never replace it
ferry watch add "$(win "$w")" --account disk --to watched --quiet-secs 1 --after "move:$(win "$archive")" >/dev/null || bad "watch add"
"$wine" "$exe" --data-dir "$(win "$data")" run --until-idle >"$tmp/run6.out" 2>&1 &
runner=$!
queued_files() { ferry queue --json | python3 -c "import json,sys; print(' '.join(sorted(json.loads(l)['name'] for l in sys.stdin if l.strip() and 'watched' in json.loads(l)['file'])))"; }
files=""
for _ in $(seq 300); do files=$(queued_files 2>/dev/null); [ -n "$files" ] && break; sleep 0.2; done
# The catch-up decided both files in one scan: the free one is queued, the held one waits.
[ "$files" = "free.bin" ] && ok "the held file is not stable yet: only free.bin queued" || bad "queued from the watch while held: '$files'"
touch "$tmp/release6"
wait "$holder"
wait "$runner" && ok "released: run --until-idle finished" || bad "run --until-idle after the release (see run6.out)"
[ "$free_sha" = "$(sha1 "$tmp/disk/watched/free.bin" 2>/dev/null)" ] && ok "watch: free.bin uploaded byte-exact" || bad "watch: free.bin not uploaded byte-exact"
[ "$(cat "$archive/free.bin")" = "someone else's" ] && [ "$(sha1 "$archive/free (1).bin" 2>/dev/null)" = "$(sha1 "$tmp/disk/watched/free.bin" 2>/dev/null)" ] && [ ! -e "$w/free.bin" ] &&
  ok "after-upload move: the archive's own free.bin kept, ours moved next to it as 'free (1).bin'" || bad "after-upload move replaced a file or lost free.bin"
[ "$(sha1 "$archive/held.bin" 2>/dev/null)" = "$(sha1 "$tmp/disk/watched/held.bin" 2>/dev/null)" ] && [ ! -e "$w/held.bin" ] &&
  ok "after-upload move: held.bin uploaded byte-exact, then moved to the archive" || bad "watch: held.bin not uploaded and moved"

if [ $failed -gt 0 ]; then
  for f in "$tmp"/run*.out; do echo "--- $f"; tail -20 "$f"; done
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
