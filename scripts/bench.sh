#!/usr/bin/env bash
# Ferry's performance against the same work, every baseline in the same run (issue #16):
#  1. hashed upload to local vs max(bare SHA-1, cp + fsync)
#  2. each cloud provider's mock: Ferry vs a minimal client doing the same requests and hashing
#     the whole file as Ferry does, medians of FERRY_BENCH_REPS runs alternating which goes
#     first (every run's figures above the table), mocks storing on tmpfs; curl → sink
#  3. PDS parallel vs serial on a link with latency and a per-connection bandwidth cap
#  4. many small files with the real `ferry` binary vs rclone copy and cp -r + sync
#  5. peak RSS (big file; 100,000 queued jobs)   6. CPU-seconds per GiB vs sha1sum + curl
#  7. queue scale: `ferry upload` of a 100,000-file tree, `ferry queue --json`
# then the watch benchmark, and one table: section, what, Ferry, baseline, ratio, target.
# Everything talks only to servers it starts on 127.0.0.1, inside a private D-Bus session
# with a Secret Service (like the tests).
#
# Usage: scripts/bench.sh [--quick]
#   (default) release build, full sizes: the numbers for the README.
#   --quick   debug build and small sizes: checks the harness end to end in a few minutes.
# Env (sizes; --quick lowers the defaults):
#   FERRY_BENCH_SIZE_MIB (1024)      file of sections 1–3
#   FERRY_BENCH_REPS (3)             runs of each section-2 pair (Ferry and minimal alternate first)
#   FERRY_BENCH_FEISHU_MIB (256)     Feishu's file in section 2 (paced at 4.5 calls/s: ~15 s a run)
#   FERRY_BENCH_BIG_MIB (4096)       sparse file of sections 5–6
#   FERRY_BENCH_SMALL_FILES (2000)   16 KiB files of section 4
#   FERRY_BENCH_MEDIUM_FILES (200)   1 MiB files of section 4
#   FERRY_BENCH_TREE_FILES (100000)  files of section 7 (and the watch benchmark)
#   FERRY_BENCH_RUN_SECS (5)         how long `ferry run` works the 100,000 jobs for its RSS
#   FERRY_BENCH_LINK_MIB (256), FERRY_BENCH_LATENCY_MS (40), FERRY_BENCH_LINK_MIBPS (16)
#                                    section 3's file and link (per connection)
#   FERRY_BENCH_DIR                  where the temp dir goes (default /tmp)
#   FERRY_BENCH_SECTIONS (all)       which sections to run, e.g. "4" or "4 7 watch"
#                                    (1–3 run together, as do 5–6; "watch" is the watch benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
  --quick | --debug) quick=1 ;;
  "") ;;
  *) echo "usage: scripts/bench.sh [--quick]" >&2; exit 2 ;;
esac
if [ "$quick" = 1 ]; then
  : "${FERRY_BENCH_SIZE_MIB:=64}" "${FERRY_BENCH_BIG_MIB:=128}" "${FERRY_BENCH_SMALL_FILES:=200}"
  : "${FERRY_BENCH_MEDIUM_FILES:=20}" "${FERRY_BENCH_TREE_FILES:=2000}" "${FERRY_BENCH_RUN_SECS:=2}"
  profile=debug; cargo_profile=(); bench_cmd=(test -q)
else
  profile=release; cargo_profile=(--release); bench_cmd=(bench -q)
fi
export FERRY_BENCH_SIZE_MIB="${FERRY_BENCH_SIZE_MIB:-1024}" FERRY_BENCH_BIG_MIB="${FERRY_BENCH_BIG_MIB:-4096}"
export FERRY_BENCH_SMALL_FILES="${FERRY_BENCH_SMALL_FILES:-2000}" FERRY_BENCH_MEDIUM_FILES="${FERRY_BENCH_MEDIUM_FILES:-200}"
export FERRY_BENCH_TREE_FILES="${FERRY_BENCH_TREE_FILES:-100000}" FERRY_BENCH_RUN_SECS="${FERRY_BENCH_RUN_SECS:-5}"
export FERRY_BENCH_FILES="$FERRY_BENCH_TREE_FILES" # the watch benchmark's name for it
export FERRY_BENCH_SECTIONS="${FERRY_BENCH_SECTIONS:-1 2 3 4 5 6 7 watch}"
# want N...: is any of these sections asked for?
want() { local n; for n in "$@"; do [[ " ${FERRY_BENCH_SECTIONS//,/ } " == *" $n "* ]] && return 0; done; return 1; }

# ---- outside: set up, build, then run the rest again inside a private D-Bus session ----------
if [ -z "${FERRY_BENCH_INSIDE:-}" ]; then
  scripts/setup.sh bench >/dev/null
  # The release binary embeds ui/dist (a rebuilt dist rebuilds the app crate: --quick reuses it).
  if [ "$quick" = 0 ] || [ ! -f ui/dist/index.html ]; then
    npm --prefix ui run build >/tmp/ferry-bench-ui.log 2>&1 || { cat /tmp/ferry-bench-ui.log >&2; exit 1; }
  fi
  # One feature set for the app crate (as scripts/test.sh), so nothing is built twice.
  cargo build "${cargo_profile[@]}" --features ferry/custom-protocol -p ferry -p ferry-mock-providers --bins
  if want 1 2 3 watch; then cargo "${bench_cmd[@]}" -p ferry-engine --bench upload --bench watch --no-run; fi
  tmp=$(mktemp -d "${FERRY_BENCH_DIR:-/tmp}/ferry-bench.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"/{data,config,cache,run}
  chmod 700 "$tmp/run"
  XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/run" \
    FERRY_BENCH_INSIDE="$tmp" FERRY_BENCH_PROFILE="$profile" dbus-run-session -- bash -c \
    'printf %s bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0" "$@"' "$0" "$@"
  exit
fi

# ---- inside ----------------------------------------------------------------------------------
tmp=$FERRY_BENCH_INSIDE
bin="$PWD/target/$profile"
rows="$tmp/rows.tsv"
notes="$tmp/notes.txt" # lines printed above the table (section 2's repetitions)
log="$tmp/ferry-stderr.log" # what the `ferry` runs print on stderr; shown if a step fails
export FERRY_BENCH_ROWS="$rows" FERRY_BENCH_NOTES="$notes" FERRY_BENCH_DIR="$tmp"
: >"$rows"
: >"$notes"
cores=$(nproc)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# row SECTION WHAT FERRY BASELINE RATIO TARGET (tab-separated, printed as one table at the end)
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$rows"; printf '  %-58s %14s  %-30s %6s\n' "$2" "$3" "$4" "$5"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
now() { date +%s.%N; }
since() { calc %.3f "$(now) - $1"; }
# timed OUT CMD...: runs CMD under /usr/bin/time; OUT gets "elapsed user sys maxrss_kib".
timed() { local out=$1; shift; /usr/bin/time -f '%e %U %S %M' -o "$out" "$@"; }
field() { awk -v n="$2" '{ print $n }' "$1"; }
done_jobs() { "$bin/ferry" --data-dir "$1" queue --json | grep -c '"state":"done"' || true; }

# The iFlytek mock as its own process, so its CPU is not counted as Ferry's.
xf=(--app-id 4CC5779A --api-key apikeyXXXXXXXXXXXXXXXXXXXXXXXXXX --api-secret apisecretXXXXXXXXXXXXXXXXXXXXXXX)
mkdir -p "$tmp/xfyun-data"
"$bin/ferry-mock" xfyun --port 0 "${xf[@]}" --data-dir "$tmp/xfyun-data" >"$tmp/xfyun.out" 2>&1 &
mock_pid=$!
on_exit() {
  local status=$?
  kill "$mock_pid" 2>/dev/null || true
  if [ "$status" -ne 0 ] && [ -s "$log" ]; then
    echo "bench failed (exit $status); the last lines the ferry runs printed:" >&2
    tail -20 "$log" >&2
  fi
}
trap on_exit EXIT
until grep -q '^listening on ' "$tmp/xfyun.out"; do
  kill -0 "$mock_pid" 2>/dev/null || { cat "$tmp/xfyun.out" >&2; exit 1; }
  sleep 0.1
done
mock_url=$(sed -n 's/^listening on //p' "$tmp/xfyun.out")
mock_reset() { curl -sS -o /dev/null -X POST "$mock_url/__mock/reset"; }

# new_ferry NAME: a fresh data dir with a `disk` (local) and an `ost` (iFlytek mock) account.
new_ferry() {
  local d="$tmp/ferry-$1"
  rm -rf "$d" "$tmp/dest-$1"
  mkdir -p "$d" "$tmp/dest-$1"
  "$bin/ferry" --data-dir "$d" account add disk --provider local --set "root=$tmp/dest-$1" </dev/null >/dev/null
  printf 'api_key=%s\napi_secret=%s\n' "${xf[3]}" "${xf[5]}" |
    "$bin/ferry" --data-dir "$d" account add ost --provider xfyun --endpoint "$mock_url" --set "app_id=${xf[1]}" >/dev/null
  echo "$d"
}

if want 1 2 3; then
  say "Sections 1–3: one ${FERRY_BENCH_SIZE_MIB} MiB file, in-process ($profile build, $cores cores)"
  cargo "${bench_cmd[@]}" -p ferry-engine --bench upload
fi

# ---- 4. many small files ---------------------------------------------------------------------
# split_tree DIR COUNT SIZE: COUNT random files of SIZE bytes in 10 folders.
split_tree() {
  local dir=$1 count=$2 size=$3 i
  mkdir -p "$dir"
  head -c $((count * size)) /dev/urandom | split -b "$size" -a 6 -d - "$dir/f"
  for i in 0 1 2 3 4 5 6 7 8 9; do
    mkdir "$dir/d$i"
    find "$dir" -maxdepth 1 -type f -name "f*$i" -exec mv -t "$dir/d$i/" {} +
  done
}

many_files() {
  local count=$1 size=$2 tag=$3 label=$4 src="$tmp/src-$3" t secs rclone_fps cp_fps account d fps n
  say "Section 4: $label in 10 folders, files per second (upload + run --until-idle, fresh data dir)"
  split_tree "$src" "$count" "$size"
  sync
  rm -rf "$tmp/rclone-out"
  t=$(now); RCLONE_CONFIG="$tmp/rclone.conf" rclone copy -q "$src" "$tmp/rclone-out"; secs=$(since "$t")
  rclone_fps=$(calc %.0f "$count / $secs")
  [ "$(find "$tmp/rclone-out" -type f | wc -l)" = "$count" ] || { echo "rclone copied the wrong number of files" >&2; exit 1; }
  rm -rf "$tmp/cp-out"
  t=$(now); cp -r "$src" "$tmp/cp-out"; sync; secs=$(since "$t")
  cp_fps=$(calc %.0f "$count / $secs")
  rm -rf "$tmp/rclone-out" "$tmp/cp-out"
  for account in disk ost; do
    d=$(new_ferry "$tag-$account")
    mock_reset
    t=$(now)
    "$bin/ferry" --data-dir "$d" upload "$src" --account "$account" >/dev/null 2>>"$log"
    "$bin/ferry" --data-dir "$d" run --until-idle >/dev/null 2>>"$log"
    secs=$(since "$t")
    n=$(done_jobs "$d")
    [ "$n" = "$count" ] || { echo "ferry: $n of $count jobs done ($label → $account)" >&2; exit 1; }
    fps=$(calc %.0f "$count / $secs")
    if [ "$account" = disk ]; then
      [ "$(find "$tmp/dest-$tag-$account" -type f | wc -l)" = "$count" ] || { echo "local destination lacks files" >&2; exit 1; }
      row 4 "$label → local vs rclone copy" "$fps files/s" "$rclone_fps files/s" "$(calc %.2f "$fps / $rclone_fps")" "≥ 1.00"
      row 4 "$label → local vs cp -r + sync" "$fps files/s" "$cp_fps files/s" "$(calc %.2f "$fps / $cp_fps")" "-"
    elif [ "$size" -le 16384 ]; then
      row 4 "$label → iFlytek mock (one-shot) vs the target" "$fps files/s" "2000 files/s (target)" "$(calc %.2f "$fps / 2000")" "≥ 1.00"
    else
      row 4 "$label → iFlytek mock (one-shot) vs rclone → local" "$fps files/s" "$rclone_fps files/s" "$(calc %.2f "$fps / $rclone_fps")" "-"
    fi
    rm -rf "$d" "$tmp/dest-$tag-$account"
  done
  rm -rf "$src"
  mock_reset
}
if want 4; then
  many_files "$FERRY_BENCH_SMALL_FILES" 16384 small "${FERRY_BENCH_SMALL_FILES} × 16 KiB"
  many_files "$FERRY_BENCH_MEDIUM_FILES" 1048576 medium "${FERRY_BENCH_MEDIUM_FILES} × 1 MiB"
fi

# ---- 5 + 6. memory and CPU of `ferry run` on one big file ----------------------------------
# Parts in flight × part size, from the engine's defaults (parts_per_file 4, part_size 8 MiB)
# capped by each provider's part_concurrency (local 4, iFlytek 1: slices go in order).
if want 5 6; then
  part_mib=8
  say "Sections 5–6: ${FERRY_BENCH_BIG_MIB} MiB sparse file, peak RSS and CPU-seconds of ferry run"
  big="$tmp/big.bin"
  truncate -s "${FERRY_BENCH_BIG_MIB}M" "$big"
  gib=$(calc %.6f "$FERRY_BENCH_BIG_MIB / 1024")
  timed "$tmp/t.sha1" sha1sum "$big" >/dev/null
  timed "$tmp/t.curl" curl -sS -o /dev/null -T "$big" "$mock_url/__sink"
  base_cpu=$(awk '{ s += $2 + $3 } END { printf "%.3f", s }' "$tmp/t.sha1" "$tmp/t.curl")
  base_per_gib=$(calc %.2f "$base_cpu / $gib")
  for account in disk ost; do
    d=$(new_ferry "big-$account")
    mock_reset
    "$bin/ferry" --data-dir "$d" upload "$big" --account "$account" >/dev/null 2>>"$log"
    timed "$tmp/t.run" "$bin/ferry" --data-dir "$d" run --until-idle >/dev/null 2>>"$log"
    [ "$(done_jobs "$d")" = 1 ] || { echo "ferry: the big file was not uploaded to $account" >&2; exit 1; }
    rss_mib=$(calc %.0f "$(field "$tmp/t.run" 4) / 1024")
    cpu_per_gib=$(calc %.2f "($(field "$tmp/t.run" 2) + $(field "$tmp/t.run" 3)) / $gib")
    if [ "$account" = disk ]; then parts=4 where=local; else parts=1 where="iFlytek mock"; fi
    allow=$((64 + parts * part_mib))
    row 5 "peak RSS, → $where vs 64 MiB + $parts × $part_mib MiB in flight" "$rss_mib MiB" "$allow MiB" "$(calc %.2f "$rss_mib / $allow")" "≤ 1.00"
    row 6 "CPU per GiB, → $where vs sha1sum + curl -T" "$cpu_per_gib s/GiB" "$base_per_gib s/GiB" "$(calc %.2f "$cpu_per_gib / $base_per_gib")" "≤ 1.30"
    rm -rf "$d" "$tmp/dest-big-$account"
  done
  rm -f "$big"
  mock_reset
fi

# ---- 7. queue scale (and the RSS of an engine holding that queue: section 5) -----------------
if want 7; then
  files=$FERRY_BENCH_TREE_FILES
  say "Section 7: a $files-file tree (100 files a folder)"
  tree="$tmp/tree"
  mkdir -p "$tree"
  (
    cd "$tree"
    for ((i = 0; i < files; i++)); do
      ((i % 100 == 0)) && mkdir -p "$((i / 10000))/$((i / 100 % 100))"
      printf x >"$((i / 10000))/$((i / 100 % 100))/f$i"
    done
  )
  d=$(new_ferry tree)
  timed "$tmp/t.upload" "$bin/ferry" --data-dir "$d" upload "$tree" --account disk >/dev/null 2>>"$log"
  timed "$tmp/t.queue" "$bin/ferry" --data-dir "$d" queue --json >"$tmp/queue.json"
  [ "$(wc -l <"$tmp/queue.json")" = "$files" ] || { echo "ferry queue --json did not list $files jobs" >&2; exit 1; }
  up_s=$(field "$tmp/t.upload" 1)
  q_s=$(field "$tmp/t.queue" 1)
  q_mb=$(calc %.0f "$(field "$tmp/t.queue" 4) * 1024 / 1000000")
  row 7 "ferry upload of $files files: seconds vs the target" "$up_s s" "1 s (target)" "$(calc %.2f "$up_s / 1")" "≤ 1.00"
  row 7 "ferry queue --json of them: seconds vs the target" "$q_s s" "0.5 s (target)" "$(calc %.2f "$q_s / 0.5")" "≤ 1.00"
  row 7 "ferry queue --json of them: peak RSS vs the target" "$q_mb MB" "150 MB (target)" "$(calc %.2f "$q_mb / 150")" "≤ 1.00"
  # The engine with that queue: peak RSS (VmHWM) after working it for a while, then Ctrl-C.
  "$bin/ferry" --data-dir "$d" run >/dev/null 2>>"$log" &
  run_pid=$!
  sleep "$FERRY_BENCH_RUN_SECS"
  hwm_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$run_pid/status")
  kill -INT "$run_pid"
  wait "$run_pid" || true
  run_mb=$(calc %.0f "$hwm_kib * 1024 / 1000000")
  row 5 "peak RSS, ferry run with $files queued jobs vs the target" "$run_mb MB" "150 MB (target)" "$(calc %.2f "$run_mb / 150")" "≤ 1.00"
  rm -rf "$d" "$tmp/dest-tree" "$tree"
fi

# ---- the watch benchmark (its own table) -----------------------------------------------------
if want watch; then
  say "Watch: $FERRY_BENCH_TREE_FILES files"
  cargo "${bench_cmd[@]}" -p ferry-engine --bench watch
fi

# ---- the table -------------------------------------------------------------------------------
say "Ferry vs the same work, $(date -u +%Y-%m-%d), $profile build, $cores cores, $(uname -sr)"
sed 's/^/  /' "$notes"
echo "ratio = Ferry ÷ baseline; sizes: ${FERRY_BENCH_SIZE_MIB} MiB (1–3), ${FERRY_BENCH_BIG_MIB} MiB (5–6)"
{
  printf '#\twhat\tFerry\tbaseline\tratio\ttarget\n'
  sort -s -t$'\t' -k1,1n "$rows"
} | column -t -s $'\t' -R 3,4,5
