#!/usr/bin/env bash
# benches/compare.sh — credgate side by side with a bare hyper "hello" server and Redis, on
# this machine, in one run (issue 8, SPEC §9). Writes benches/RESULTS.md.
#
#   benches/compare.sh [--with-10m] [--with-100m] [--sizes "N ..."] [--root DIR] [--rounds N]
#                      [--duration 10s] [--work DIR] [--out FILE] [--keep-data]
#
# --sizes adds other record counts to the 1M one (the load rounds are always at 1M).
#
# 1. Installs wrk, redis-server (with redis-cli, redis-benchmark) and valgrind with apt-get,
#    only when missing.
# 2. For 1M records (and 10M / 100M with the flags): `index-builder synth --seed 7`, then
#    `index-builder build` under /usr/bin/time -v (wall, records/s, peak RSS, snapshot bytes per
#    record), then `cargo bench --bench check_latency -- ROOT` (benches/check_latency.rs): the
#    median of 11 `Engine::open` calls (= `Snapshot::open` + catalogue compile; maps, reads
#    headers and the manifest) with the RSS after it, and per-call `Engine::check` latency
#    (median, p99) for organisation hits, linked-person hits and misses, each call timed with
#    Instant. --root DIR serves an existing 1M-record root instead of building one (its
#    source is still synthesised for the id lists).
# 3. Starts, on loopback only, `credgate serve --index ROOT`, the hello server
#    (`cargo build --release --example hello_server`) and redis-server loaded the way a team
#    would: a SET `codes` of every listed identifier and a HASH `l:<code>` of list_code ->
#    record_id per identifier, through `redis-cli --pipe`. Then ROUNDS interleaved rounds of
#    wrk (2 threads, 64 connections) on /v1/check rotating through valid hit and miss ids, the
#    same wrk requests on the hello server (which ignores the path), and redis-benchmark (64
#    clients, 2 threads) GET, HGETALL and SISMEMBER on keys it generates (populated after the
#    memory figure was taken, so they hit).
#    Then p99 at half of peak: `rate_load` (benches/support/rate_load.rs, open loop, latency
#    from each request's scheduled time) at half of credgate's median wrk req/s, on credgate
#    and, at the same rate, on hello, for the same duration.
# 4. Batch, interleaved per round: the same 1M ids through `credgate screen --index`, through
#    POST /v1/screen (curl --data-binary) and through Redis SMISMEMBER, 1000 ids a command,
#    all commands pipelined by `redis-cli --pipe`. The answers are timed with the output
#    discarded; every row is counted once beforehand, untimed.
# 5. Memory, at each size: Redis flushed and loaded with that size's team data (used_memory),
#    credgate serving that size's snapshot after one wrk round (RssAnon = its own memory,
#    RssFile = mapped snapshot pages); at sizes other than 1M also the batch of step 4 once
#    on a million of that size's ids; then credgate again, its snapshot pages evicted from
#    the page cache, inside a memory cgroup capped at a quarter of Redis's used_memory (where
#    one can be made: root, cgroup v1 or v2), for one wrk round.
# 6. A callgrind profile of 10,000 checks of each kind (inclusive instruction counts).
# Every figure is the median of the rounds with min–max. Generated data stays under --work
# (default target/compare) and is removed at the end unless --keep-data.
# NO_BUILD=1 skips the release build and uses target/release (or $CARGO_TARGET_DIR/release) as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

SIZES="1000000"
ROUNDS=3
DURATION=10s
WORK=target/compare
OUT=benches/RESULTS.md
ROOT_OPT=""
KEEP=0
CMDLINE="benches/compare.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --with-10m) SIZES="$SIZES 10000000" ;;
    --with-100m) SIZES="$SIZES 100000000" ;;
    --sizes) SIZES="1000000 $2"; shift ;;
    --root) ROOT_OPT=$(realpath "$2"); shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --work) WORK=$2; shift ;;
    --out) OUT=$2; shift ;;
    --keep-data) KEEP=1 ;;
    -h|--help) sed -n '2,44p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$WORK"; WORK=$(realpath "$WORK")
CG=127.0.0.1:18280; HELLO=127.0.0.1:18281; RPORT=18282
TODAY=2026-11-28

# --- 1. tools --------------------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || need+=(redis-server redis-tools)
command -v valgrind >/dev/null || need+=(valgrind)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q && $SUDO apt-get install -y -q "${need[@]}"
fi

# shellcheck source=support/release.sh
source benches/support/release.sh
release_build --quiet --bin credgate --example hello_server --example rate_load
release_build --quiet -p credgate-index --bin index-builder
[[ -n "${NO_BUILD:-}" ]] || cargo bench --quiet --bench check_latency --no-run 2>/dev/null
need_release credgate examples/hello_server examples/rate_load index-builder
# The newest build of benches/check_latency.rs (`cargo bench --no-run` names it by a hash).
LAT=$(ls -t "$BIN"/deps/check_latency-* 2>/dev/null | grep -v '\.d$' | head -n 1 || true)
if [[ -z "$LAT" ]]; then
  echo "compare.sh: no check_latency bench in $BIN/deps; cargo bench --bench check_latency --no-run builds it${NO_BUILD:+ (NO_BUILD is set)}" >&2
  exit 1
fi

pids=(); CGDIRS=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # Memory cgroups of step 5 left by an interrupted run (empty once their server is gone).
  for d in "${CGDIRS[@]}"; do sleep 1; rmdir "$d" 2>/dev/null || true; done
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# median (min–max) of whitespace-separated numbers; $2 = printf format
stat3() { echo "$1" | tr ' ' '\n' | grep -v '^$' | sort -g | awk -v f="${2:-%.0f}" '
  { v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf(f " (" f "–" f ")", m, v[1], v[NR]) }'; }
med() { echo "$1" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
secs() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'; }

R=$WORK/results.md; : > "$R"
emit() { printf '%s\n' "$*" >> "$R"; }
LOADS=()

# The sizes' sources and snapshots are all kept until the end (step 5 serves each), and a
# build's spilled runs peak beside them: about 1,100 bytes a record in all (measured on a 10M
# build, see benches/build.sh). Refuse up front rather than fill the disk half-way.
NEED=0; for n in $SIZES; do NEED=$((NEED + n * 1100)); done
FREE=$(df --output=avail -B1 "$WORK" | tail -n 1 | tr -d ' ')
if [ "$FREE" -lt "$NEED" ]; then
  echo "sizes $SIZES need about $((NEED / 1000000000)) GB free in $WORK (sources, spilled runs and snapshots); $((FREE / 1000000000)) GB are" >&2
  exit 1
fi

# --- 2. build, open, in-process latency --------------------------------------------------------
BUILD_ROWS=(); LAT_ROWS=(); OPEN_ROWS=()
for n in $SIZES; do
  src=$WORK/src-$n; root=$WORK/root-$n
  echo "== $n: synth"
  [ -f "$src/synth.json" ] || "$BIN/index-builder" synth --out "$src" --records "$n" --seed 7 | tail -n 1
  if [ "$n" = 1000000 ] && [ -n "$ROOT_OPT" ]; then
    root=$ROOT_OPT
    BUILD_ROWS+=("| $n | (existing root $root, not built) | | | | |")
  else
    echo "== $n: build (load $(load))"
    rm -rf "$root"
    /usr/bin/time -v -o "$WORK/time-build-$n" "$BIN/index-builder" build --source "$src" --out "$root" --today "$TODAY" >/dev/null
    wall=$(secs "$WORK/time-build-$n")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$WORK/time-build-$n")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time-build-$n")
    bytes=$(du -sb "$root/$(cat "$root/CURRENT")" | cut -f1)
    BUILD_ROWS+=("$(awk -v n="$n" -v w="$wall" -v c="$cpu" -v r="$rss" -v b="$bytes" 'BEGIN {
      printf "| %d | %.1f | %.1f | %.0f | %.0f | %.1f |", n, w, c, n / w, r / 1024, b / n }')")
  fi
  [ "$n" = 1000000 ] && ROOT1=$root && SRC1=$src
  echo "== $n: open + check latency (load $(load))"
  "$LAT" "$root" 200000 | tee "$WORK/lat-$n"
  OPEN_ROWS+=("$(awk -v n="$n" '/^open_ms/ { printf "| %d | %s | %s | %s | %s |", n, $3, $5, $7, $9 }' "$WORK/lat-$n")")
  while read -r _ kind _ _ _ _ _ medv _ p99 _ p999 _; do
    LAT_ROWS+=("| $n | $kind | $medv | $p99 | $p999 |")
  done < <(grep '^check .* median_us' "$WORK/lat-$n")
done

# --- 3. servers and load -------------------------------------------------------------------
"$BIN/credgate" serve --index "$ROOT1" --listen "$CG" 2>"$WORK/credgate.log" & CGPID=$!; pids+=($CGPID)
"$BIN/examples/hello_server" "$HELLO" 2>/dev/null & HEPID=$!; pids+=($HEPID)
redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no --daemonize no >"$WORK/redis.log" & pids+=($!)
up() { for _ in $(seq 1 600); do curl -fs "http://$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "$1 did not come up" >&2; exit 1; }
up "$CG/readyz"; up "$HELLO/"
for _ in $(seq 1 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
rcli() { redis-cli -p "$RPORT" "$@"; }

# make_ids SRC ADDR OUT [SAMPLE]: valid ids for load, hits and misses, seeded-shuffled, in OUT.
# Hits are the subject_ids of SRC's lists (SAMPLE > 0: a seeded sample of that many); for
# each, a valid code in no list (region code replaced, check character recomputed). Only
# what the credgate at ADDR accepts in strict mode is kept (synth writes deliberately bad
# codes, which answer 422).
make_ids() {
  local src=$1 addr=$2 out=$3 sample=${4:-0} d
  d=$(mktemp -d "$WORK/ids.XXXXXX")
  awk -F, 'FNR > 1 { print $4 }' "$src"/lists/*.csv | grep -E '^[0-9A-Z]{18}$' | sort -u > "$d/hits.txt"
  if [ "$sample" -gt 0 ]; then
    shuf -n "$sample" --random-source=<(yes 7) "$d/hits.txt" > "$d/sample.txt"
    mv "$d/sample.txt" "$d/hits.txt"
  fi
  python3 - "$d/hits.txt" > "$d/misses.txt" <<'PY'
import sys
CS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
for line in open(sys.argv[1]):
    s = line.strip()
    if s[:17].isdigit() and (s[17].isdigit() or s[17] == "X"):
        body = "990102" + s[6:17]
        w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        print(body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11])
    elif all(c in CS for c in s[:17]):
        body = s[:2] + "999999" + s[8:17]
        w = [pow(3, i, 31) for i in range(17)]
        print(body + CS[(31 - sum(CS.index(c) * k for c, k in zip(body, w)) % 31) % 31])
PY
  cat "$d/hits.txt" "$d/misses.txt" > "$d/candidates.txt"
  # The screen answer masks people's numbers in its echo, so take each accepted id from the
  # list by its row number (checking the echo agrees with it).
  curl -fs -X POST -H 'Content-Type: text/csv' --data-binary @"$d/candidates.txt" "http://$addr/v1/screen?scenario=procurement&as_of=$TODAY" \
    | python3 -c 'import sys, json
ids = [l.strip() for l in open(sys.argv[1])]
for l in sys.stdin:
    r = json.loads(l)
    if "row" not in r: continue
    i = ids[r["row"] - 1]
    assert r["input"] in (i, i[:6] + "********" + i[14:]), (r, i)
    if r.get("error") is None: print(i)' "$d/candidates.txt" \
    | shuf --random-source=<(yes 7) > "$out"
  rm -rf "$d"
}
make_ids "$SRC1" "$CG" "$WORK/ids.txt"
NIDS=$(wc -l < "$WORK/ids.txt")
head -n 1000000 "$WORK/ids.txt" > "$WORK/batch.txt"
NBATCH=$(wc -l < "$WORK/batch.txt")
{ echo "统一社会信用代码"; cat "$WORK/batch.txt"; } > "$WORK/batch.csv"
echo "ids: $NIDS valid (hits + misses); batch: $NBATCH"

# Redis, the way a team would hold the lists: SADD codes <id>; HSET l:<id> <list_code> <record_id>.
team_resp() {
  awk -F, 'function bulk(s) { return "$" length(s) "\r\n" s "\r\n" }
    FNR > 1 && $4 != "" {
      printf "*3\r\n%s%s%s", bulk("SADD"), bulk("codes"), bulk($4)
      printf "*4\r\n%s%s%s%s", bulk("HSET"), bulk("l:" $4), bulk($2), bulk($1) }' \
    "$1"/lists/*.csv
}
# Redis holds the 1M team data while it is measured (its memory per size is read in step 5).
team_resp "$SRC1" | rcli --pipe > "$WORK/redis-load.log"
# Keys for redis-benchmark: it names keys key:NNNNNNNNNNNN,
# so populate those for GET and HGETALL (hits) and put half of them in a set for SISMEMBER.
redis-benchmark -p "$RPORT" -t set -n 1000000 -r 1000000 -d 8 -c 64 --threads 2 -q >/dev/null 2>&1
awk 'function bulk(s) { return "$" length(s) "\r\n" s "\r\n" } BEGIN {
  for (i = 0; i < 1000000; i++) { k = sprintf("%012d", i)
    printf "*4\r\n%s%s%s%s", bulk("HSET"), bulk("h:" k), bulk("court_defaulter"), bulk("ZX2019" k)
    if (i % 2 == 0) printf "*3\r\n%s%s%s", bulk("SADD"), bulk("bset"), bulk(k) } }' | rcli --pipe >/dev/null

# Batch file for Redis: SMISMEMBER codes <1000 ids> per command.
smismember_resp() {
  awk 'function bulk(s) { return "$" length(s) "\r\n" s "\r\n" }
    { ids[++n] = $1 } n == 1000 { printf "*%d\r\n%s%s", n + 2, bulk("SMISMEMBER"), bulk("codes"); for (i = 1; i <= n; i++) printf "%s", bulk(ids[i]); n = 0 }
    END { if (n) { printf "*%d\r\n%s%s", n + 2, bulk("SMISMEMBER"), bulk("codes"); for (i = 1; i <= n; i++) printf "%s", bulk(ids[i]) } }' "$1"
}
smismember_resp "$WORK/batch.txt" > "$WORK/batch.resp"

# Untimed, once: both batch paths answer every row (the rounds time them with the answer
# discarded). `credgate screen` exits 1 when a row is denied, so rows are counted instead.
"$BIN/credgate" screen --index "$ROOT1" --scenario procurement --as-of "$TODAY" --format ndjson --out "$WORK/screen-offline.ndjson" "$WORK/batch.csv" 2>"$WORK/screen-offline.log" || true
OFF_ROWS=$(wc -l < "$WORK/screen-offline.ndjson"); rm -f "$WORK/screen-offline.ndjson"
[ "$OFF_ROWS" = "$NBATCH" ] || { echo "credgate screen answered $OFF_ROWS of $NBATCH rows" >&2; cat "$WORK/screen-offline.log" >&2; exit 1; }
HTTP_ROWS=$(curl -fs -X POST -H 'Content-Type: text/csv' --data-binary @"$WORK/batch.csv" "http://$CG/v1/screen?scenario=procurement&as_of=$TODAY&summary=1" \
  | tail -n 1 | python3 -c 'import sys, json; print(json.load(sys.stdin)["summary"]["rows"])')
[ "$HTTP_ROWS" = "$NBATCH" ] || { echo "/v1/screen answered $HTTP_ROWS of $NBATCH rows" >&2; exit 1; }

# run_wrk ADDR → req/s, p50 ms, p99 ms, errors (benches/support/check.lua; hello gets the
# same /v1/check requests as credgate, so wrk does the same work for both).
# IDS_FILE (default the 1M ids) names the ids to rotate through.
run_wrk() { local a=$1; shift; wrk -t2 -c64 -d"$DURATION" -s "$REPO/benches/support/check.lua" "http://$a" -- "${IDS_FILE:-$WORK/ids.txt}" "$@" | awk '/^RESULT/ { print $3, $4, $5, $6 }'; }
# redis-benchmark --csv: "test","rps","avg","min","p50","p95","p99","max"
run_rb() { redis-benchmark -p "$RPORT" -c 64 --threads 2 -n 500000 -r 1000000 --csv "$@" 2>/dev/null \
  | tail -n 1 | tr -d '"' | awk -F, '{ print $2, $5, $7 }'; }

declare -A V
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
add() { V[$1]="${V[$1]:-} $2"; }
for r in $(seq 1 "$ROUNDS"); do
  l=$(load)
  # What else was running: the busiest processes that are not this harness's.
  others=$(ps -eo pcpu,comm --sort=-pcpu --no-headers | grep -vE ' (wrk|redis-server|redis-benchmark|credgate|hello_server|ps|compare.sh)$' \
    | head -n 3 | awk '{ printf "%s%s %s%%", (NR > 1 ? ", " : ""), $2, $1 }')
  LOADS+=("round $r: load average $l; busiest other processes: $others"); echo "== round $r (load $l)"
  # Server CPU per request (user + system, from /proc) as well: unlike req/s, it does not
  # depend on how the two cores were shared with wrk and the rest of the machine.
  t0=$(cpu_ticks "$CGPID")
  read -r a b c e < <(run_wrk "$CG") || true; add cg_rps "$a"; add cg_p50 "$b"; add cg_p99 "$c"; add cg_err "$e"
  add cg_cpu "$(awk -v t="$(( $(cpu_ticks "$CGPID") - t0 ))" -v r="$a" -v d="${DURATION%s}" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz * 1e6 / (r * d) }')"
  t0=$(cpu_ticks "$HEPID")
  read -r a b c e < <(run_wrk "$HELLO") || true; add he_rps "$a"; add he_p50 "$b"; add he_p99 "$c"
  add he_cpu "$(awk -v t="$(( $(cpu_ticks "$HEPID") - t0 ))" -v r="$a" -v d="${DURATION%s}" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz * 1e6 / (r * d) }')"
  for cmd in GET HGETALL SISMEMBER; do
    case $cmd in
      GET) read -r a b c < <(run_rb -t get -d 8) || true ;;
      HGETALL) read -r a b c < <(run_rb HGETALL h:__rand_int__) || true ;;
      SISMEMBER) read -r a b c < <(run_rb SISMEMBER bset __rand_int__) || true ;;
    esac
    add "r_${cmd}_rps" "$a"; add "r_${cmd}_p50" "$b"; add "r_${cmd}_p99" "$c"
  done
  add ratio_hello "$(echo "$(echo "${V[cg_rps]}" | awk '{print $NF}') / $(echo "${V[he_rps]}" | awk '{print $NF}')" | bc -l)"
  add ratio_get "$(echo "$(echo "${V[cg_rps]}" | awk '{print $NF}') / $(echo "${V[r_GET_rps]}" | awk '{print $NF}')" | bc -l)"
  echo "   credgate $(echo "${V[cg_rps]}" | awk '{print $NF}') req/s, hello $(echo "${V[he_rps]}" | awk '{print $NF}'), redis GET $(echo "${V[r_GET_rps]}" | awk '{print $NF}')"
  # Batch, interleaved. The answers go to /dev/null: writing or hashing ~400 MB of them on
  # the same two cores would be timed too (the rows were counted once before the rounds).
  t0=$(date +%s.%N); "$BIN/credgate" screen --index "$ROOT1" --scenario procurement --as-of "$TODAY" --format ndjson --out /dev/null "$WORK/batch.csv" 2>"$WORK/screen-offline.log" || true; t1=$(date +%s.%N)
  add b_off "$(echo "$NBATCH / ($t1 - $t0)" | bc -l)"
  t0=$(date +%s.%N); curl -fs -o /dev/null -X POST -H 'Content-Type: text/csv' --data-binary @"$WORK/batch.csv" "http://$CG/v1/screen?scenario=procurement&as_of=$TODAY"; t1=$(date +%s.%N)
  add b_http "$(echo "$NBATCH / ($t1 - $t0)" | bc -l)"
  t0=$(date +%s.%N); rcli --pipe < "$WORK/batch.resp" > "$WORK/batch-redis.log"; t1=$(date +%s.%N)
  add b_redis "$(echo "$NBATCH / ($t1 - $t0)" | bc -l)"
  echo "   batch ids/s: offline $(echo "${V[b_off]}" | awk '{print $NF}'), http $(echo "${V[b_http]}" | awk '{print $NF}'), redis $(echo "${V[b_redis]}" | awk '{print $NF}')"
done
# p99 at half of peak: a fixed request rate (open loop), half of credgate's median req/s.
HALF=$(med "${V[cg_rps]}" | awk '{ printf "%d", $1 / 2 }')
awk '{ print "/v1/check?id=" $1 "&scenario=procurement" }' "$WORK/ids.txt" > "$WORK/check.paths"
SECS=${DURATION%s}
echo "== fixed rate $HALF req/s for $SECS s (load $(load))"
HALF_LOAD=$(load)
read -r _ _ HC_ACH HC_P50 HC_P90 HC_P99 HC_P999 HC_MAX HC_ERR _ HC_S50 HC_S99 < <("$BIN/examples/rate_load" "$CG" "$WORK/check.paths" "$HALF" "$SECS" 16)
read -r _ _ HH_ACH HH_P50 HH_P90 HH_P99 HH_P999 HH_MAX HH_ERR _ HH_S50 HH_S99 < <("$BIN/examples/rate_load" "$HELLO" "$WORK/check.paths" "$HALF" "$SECS" 16)
echo "   credgate p99 $HC_P99 ms, hello p99 $HH_P99 ms"
CG_RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$CGPID/status")
CG_HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$CGPID/status")

# --- 5. memory at each size, and serving under a cap of a quarter of Redis ----------------------
# For each size: Redis, flushed, holds that size's team data (used_memory, used_memory_rss);
# credgate serves that size's root (the 1M server above; others started on CG2) and, after
# one wrk round over that size's ids, its RssAnon (its own memory: heap, stacks, buffers)
# and RssFile (snapshot pages mapped from the page cache, which the kernel may drop and read
# again) are read. Then, where a memory cgroup can be made (v1 or v2, nested in this
# script's own), credgate serves the same root again with the snapshot's pages evicted from
# the page cache first, inside a cgroup capped at a quarter of Redis's used_memory, for
# another wrk round: req/s, errors and the cgroup's peak usage.
CG2=127.0.0.1:18283
MEM_ROWS=(); CAP_ROWS=(); BATCH_ROWS=(); BIG_OFF=""; BIG_HTTP=""; BIG_N=""
cgroup_new() { # NAME LIMIT_BYTES: prints the new cgroup's directory, or nothing
  local own v1=/sys/fs/cgroup/memory v2=/sys/fs/cgroup
  own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
  if [ -f "$v1$own/memory.limit_in_bytes" ] && mkdir "$v1$own/$1" 2>/dev/null; then
    echo "$2" > "$v1$own/$1/memory.limit_in_bytes" && echo "$v1$own/$1"
    return
  fi
  own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
  if grep -qw memory "$v2$own/cgroup.subtree_control" 2>/dev/null && mkdir "$v2$own/$1" 2>/dev/null; then
    echo "$2" > "$v2$own/$1/memory.max" && echo "$v2$own/$1"
  fi
}
cgroup_peak() { cat "$1/memory.max_usage_in_bytes" 2>/dev/null || cat "$1/memory.peak" 2>/dev/null || echo 0; }
# Drops a generation's pages from the page cache (no process may have them mapped).
evict() { python3 - "$1" <<'PY'
import os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        fd = os.open(os.path.join(d, f), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
for n in $SIZES; do
  root=$WORK/root-$n; src=$WORK/src-$n
  [ "$n" = 1000000 ] && root=$ROOT1 && src=$SRC1
  gen="$root/$(cat "$root/CURRENT")"
  echo "== $n: memory (load $(load))"
  if [ "$n" = 1000000 ]; then
    addr=$CG; pid=$CGPID; ids=$WORK/ids.txt
  else
    "$BIN/credgate" serve --index "$root" --listen "$CG2" 2>"$WORK/credgate-$n.log" & pid=$!; pids+=($pid)
    up "$CG2/readyz"; addr=$CG2; ids=$WORK/ids-$n.txt
    # A seeded sample of a million listed subjects and their unlisted twins.
    make_ids "$src" "$CG2" "$ids" 1000000
  fi
  rcli flushall >/dev/null
  t0=$(date +%s.%N); team_resp "$src" | rcli --pipe > "$WORK/redis-load-$n.log"; t1=$(date +%s.%N)
  rload=$(echo "$t1 - $t0" | bc -l)
  rmem=$(rcli info memory | awk -F: '/^used_memory:/ { print $2 }' | tr -d '\r')
  rrss=$(rcli info memory | awk -F: '/^used_memory_rss:/ { print $2 }' | tr -d '\r')
  rkeys=$(rcli dbsize | tr -d '\r')
  read -r a _ _ e < <(IDS_FILE=$ids run_wrk "$addr") || true
  anon=$(status_kib "$pid" RssAnon); file=$(status_kib "$pid" RssFile)
  if [ "$n" != 1000000 ]; then
    # Batch at this size (SPEC §9 states the batch targets at 10M): the first million of its
    # ids offline, over HTTP (answers discarded while timed; rows counted first by the HTTP
    # summary) and as SMISMEMBER against Redis holding this size's codes.
    head -n 1000000 "$ids" > "$WORK/batch-$n.txt"; nb=$(wc -l < "$WORK/batch-$n.txt")
    { echo "统一社会信用代码"; cat "$WORK/batch-$n.txt"; } > "$WORK/batch-$n.csv"
    rows=$(curl -fs -X POST -H 'Content-Type: text/csv' --data-binary @"$WORK/batch-$n.csv" "http://$addr/v1/screen?scenario=procurement&as_of=$TODAY&summary=1" \
      | tail -n 1 | python3 -c 'import sys, json; print(json.load(sys.stdin)["summary"]["rows"])')
    [ "$rows" = "$nb" ] || { echo "/v1/screen answered $rows of $nb rows at $n" >&2; exit 1; }
    smismember_resp "$WORK/batch-$n.txt" > "$WORK/batch-$n.resp"
    bl=$(load)
    t0=$(date +%s.%N); "$BIN/credgate" screen --index "$root" --scenario procurement --as-of "$TODAY" --format ndjson --out /dev/null "$WORK/batch-$n.csv" 2>"$WORK/screen-offline-$n.log" || true; t1=$(date +%s.%N)
    boff=$(echo "$nb / ($t1 - $t0)" | bc -l)
    t0=$(date +%s.%N); curl -fs -o /dev/null -X POST -H 'Content-Type: text/csv' --data-binary @"$WORK/batch-$n.csv" "http://$addr/v1/screen?scenario=procurement&as_of=$TODAY"; t1=$(date +%s.%N)
    bhttp=$(echo "$nb / ($t1 - $t0)" | bc -l)
    t0=$(date +%s.%N); rcli --pipe < "$WORK/batch-$n.resp" > "$WORK/batch-redis-$n.log"; t1=$(date +%s.%N)
    bredis=$(echo "$nb / ($t1 - $t0)" | bc -l)
    BATCH_ROWS+=("$(awk -v n="$n" -v nb="$nb" -v o="$boff" -v h="$bhttp" -v r="$bredis" -v l="$bl" 'BEGIN {
      printf "| %d | %d | %.0f | %.0f | %.0f | %s |", n, nb, o, h, r, l }')")
    BIG_OFF=$boff; BIG_HTTP=$bhttp; BIG_N=$n
  fi
  snap=$(du -sb "$gen" | cut -f1)
  MEM_ROWS+=("$(awk -v n="$n" -v k="$rkeys" -v s="$snap" -v q="$a" -v e="$e" -v an="$anon" -v f="$file" -v rm="$rmem" -v rr="$rrss" -v lt="$rload" 'BEGIN {
    printf "| %d | %.0f | %s (%s errors) | %.1f | %.0f | %.0f (%d keys, loaded in %.0f s) | %.0f | %.3f | %.2f |",
      n, s / 1048576, q, e, an / 1024, f / 1024, rm / 1048576, k, lt, rr / 1048576, an * 1024 / rm, (an + f) * 1024 / rm }')")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  cap=$((rmem / 4)); cgdir=$(cgroup_new "credgate-compare-$$-$n" "$cap" || true)
  [ -n "$cgdir" ] && CGDIRS+=("$cgdir")
  if [ -n "$cgdir" ]; then
    evict "$gen"
    # What eviction could not drop (pages another process has mapped stay): reported.
    resident=$(fincore --bytes --noheadings --output RES "$gen"/* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
    sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cgdir" \
      "$BIN/credgate" serve --index "$root" --listen "$CG2" 2>"$WORK/credgate-cap-$n.log" & pid=$!; pids+=($pid)
    # Under a cap smaller than the server's working set (program text included) it thrashes:
    # that is a result to report, not a reason to hang.
    ready=0
    # --max-time: a thrashing server accepts the connection and may not answer for minutes.
    deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ]; do
      curl -fs --max-time 2 "http://$CG2/readyz" >/dev/null 2>&1 && { ready=1; break; }
      sleep 0.1
    done
    if [ "$ready" = 1 ]; then
      read -r a _ c e < <(IDS_FILE=$ids run_wrk "$CG2") || true
    else
      a="not ready within 60 s (thrashing under the cap)"; c=""; e=""
    fi
    peak=$(cgroup_peak "$cgdir")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    rmdir "$cgdir" 2>/dev/null || true
    CAP_ROWS+=("$(awk -v n="$n" -v c="$cap" -v r="$resident" -v q="$a" -v p99="$c" -v e="$e" -v pk="$peak" 'BEGIN {
      printf "| %d | %.0f | %.1f | %s | %s | %s | %.0f |", n, c / 1048576, r / 1048576, q, p99, e, pk / 1048576 }')")
  else
    CAP_ROWS+=("| $n | $((cap / 1048576)) | | not run: no memory cgroup could be made here | | | |")
  fi
done
RED_ANON=$(echo "${MEM_ROWS[0]}" | awk -F'|' '{ gsub(/ /, "", $9); print $9 }')

# --- 6. callgrind -------------------------------------------------------------------------------
echo "== callgrind"
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" --toggle-collect='*check_loop*' \
  "$LAT" "$ROOT1" 10000 --callgrind >/dev/null 2>"$WORK/callgrind.log" || true
callgrind_annotate --inclusive=yes "$WORK/callgrind.out" 2>/dev/null \
  | grep -E '^ *[0-9,]+ ' | grep -vE 'PROGRAM TOTALS|libc|below main|ld-linux|lang_start|backtrace|check_latency::main' | head -n 25 | sed -E 's#/[^ ]*/(src|library|index-builder|registry)/#\1/#' > "$WORK/callgrind.top" || true
TOTAL_IR=$(callgrind_annotate "$WORK/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')

# --- RESULTS.md ---------------------------------------------------------------------------------
# A hand-written "## Reading" section of the previous file is carried over at the end, marked
# with the date of the run it was written for, so a rerun does not lose it silently.
READING=""
if [ -f "$OUT" ]; then READING=$(awk '/^## Reading/ { on = 1 } on' "$OUT"); fi
m() { med "${V[$1]}"; }
s() { stat3 "${V[$1]}" "${2:-%.0f}"; }
metnot() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { ok = (op == "<") ? (a < b) : (a >= b); print ok ? "met" : "not met" }'; }
lat_med() { grep "^check $1 " "$WORK/lat-1000000" | awk '{ print $8 }'; }
{
echo "# credgate compared — results"
echo
echo "Written by \`$CMDLINE\` on $(date -u '+%Y-%m-%d %H:%M UTC') (credgate commit $(git rev-parse --short HEAD))."
echo
echo "## Machine"
echo
echo "- $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ { print $2 }') GiB memory, $(uname -sr)"
echo "- Shared: other work ran on the machine during this run. Load average per round:"
for l in "${LOADS[@]}"; do echo "  - $l"; done
echo "- Tools: $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2), $(redis-server --version | cut -d' ' -f3), $(valgrind --version)"
echo
echo "Figures are the median of $ROUNDS rounds with (min–max) unless a single run is said."
echo
echo "## Build (one run each; \`index-builder synth --records N --seed 7\`, \`index-builder build --today $TODAY\` under \`/usr/bin/time -v\`)"
echo
echo "| records asked of synth | wall s | cpu s | records/s | peak RSS MiB | snapshot B/record |"
echo "|---|---|---|---|---|---|"
for x in "${BUILD_ROWS[@]}"; do echo "$x"; done
echo
echo "## Open (\`cargo bench --bench check_latency -- ROOT\`: 11 × \`Engine::open\`, i.e. \`Snapshot::open\` + catalogue compile)"
echo
echo "| records | open ms, median | open ms, max | RSS after open MiB | subjects |"
echo "|---|---|---|---|---|"
for x in "${OPEN_ROWS[@]}"; do echo "$x"; done
echo
echo "## In-process check latency (\`Engine::check\`, each of 200,000 calls timed with \`Instant\`, 4096 samples per kind; one run)"
echo
echo "| records | kind | median µs | p99 µs | p99.9 µs |"
echo "|---|---|---|---|---|"
for x in "${LAT_ROWS[@]}"; do echo "$x"; done
echo
echo "The clock reads add ~20–40 ns to each figure. \`hit_org\`: organisations with records (procurement); \`hit_linked_person\`: persons with links, checked in transport (their organisations' records reach them); \`miss\`: valid USCCs in no list."
echo
echo "## HTTP: /v1/check vs hello vs Redis (1M-record snapshot, $DURATION per wrk run, 2 threads, 64 connections)"
echo
echo "$NIDS valid ids (listed subjects and as many unlisted valid codes, shuffled), rotated by a wrk Lua script. redis-benchmark: 64 clients, --threads 2, 500,000 requests, keys \`key:__rand_int__\` over 1M populated keys."
echo
echo "| target | req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
echo "| credgate GET /v1/check | $(s cg_rps) | $(s cg_p50 %.3f) | $(s cg_p99 %.3f) |"
echo "| hyper hello, the same requests | $(s he_rps) | $(s he_p50 %.3f) | $(s he_p99 %.3f) |"
echo "| Redis GET | $(s r_GET_rps) | $(s r_GET_p50 %.3f) | $(s r_GET_p99 %.3f) |"
echo "| Redis HGETALL (hash of 1 field) | $(s r_HGETALL_rps) | $(s r_HGETALL_p50 %.3f) | $(s r_HGETALL_p99 %.3f) |"
echo "| Redis SISMEMBER (half hit) | $(s r_SISMEMBER_rps) | $(s r_SISMEMBER_p50 %.3f) | $(s r_SISMEMBER_p99 %.3f) |"
echo
echo "- credgate / hello (per round): $(s ratio_hello %.3f); credgate / Redis GET: $(s ratio_get %.3f); credgate / Redis HGETALL (medians): $(awk -v a="$(m cg_rps)" -v b="$(m r_HGETALL_rps)" 'BEGIN { printf "%.3f", a / b }'); credgate / Redis SISMEMBER (medians): $(awk -v a="$(m cg_rps)" -v b="$(m r_SISMEMBER_rps)" 'BEGIN { printf "%.3f", a / b }')"
echo "- server CPU (user + system) per request during the wrk rounds: credgate $(s cg_cpu %.2f) µs, hello $(s he_cpu %.2f) µs; the rest of each request's cost is wrk's and the kernel's loopback on the same two cores"
echo "- wrk errors (non-2xx or socket) from credgate per round: ${V[cg_err]}"
echo
echo "### Latency at half of peak (fixed rate, open loop)"
echo
echo "\`rate_load ADDR PATHS $HALF $SECS 16\`: $HALF req/s (half of credgate's median wrk figure) for $SECS s over 16 connections, each latency counted from the moment its request was scheduled (benches/support/rate_load.rs); load average at the start $HALF_LOAD."
echo
echo "| target | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | response p50 ms | response p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| credgate GET /v1/check | $HC_ACH | $HC_P50 | $HC_P90 | $HC_P99 | $HC_P999 | $HC_MAX | $HC_ERR | $HC_S50 | $HC_S99 |"
echo "| hyper hello, the same requests | $HH_ACH | $HH_P50 | $HH_P90 | $HH_P99 | $HH_P999 | $HH_MAX | $HH_ERR | $HH_S50 | $HH_S99 |"
echo
echo "p50 … max count from each request's scheduled time (the target's measure); the response columns from its write to its response's end, the server's part without the queueing behind earlier requests on the same connection."
echo
echo "## Batch: the same $NBATCH ids"
echo
echo "| path | ids/s |"
echo "|---|---|"
echo "| \`credgate screen --index\` (ndjson out to /dev/null, default workers; $OFF_ROWS rows checked once) | $(s b_off) |"
echo "| POST /v1/screen (curl --data-binary, ndjson back to /dev/null; $HTTP_ROWS rows checked once by \`?summary=1\`) | $(s b_http) |"
echo "| Redis SMISMEMBER, 1000 ids a command, \`redis-cli --pipe\` | $(s b_redis) |"
echo
echo "- offline / Redis: $(awk -v a="$(m b_off)" -v b="$(m b_redis)" 'BEGIN { printf "%.2f", a / b }'); HTTP / Redis: $(awk -v a="$(m b_http)" -v b="$(m b_redis)" 'BEGIN { printf "%.2f", a / b }'). Redis answers membership only; credgate answers a decision with records and measures per id."
if [ ${#BATCH_ROWS[@]} -gt 0 ]; then
  echo
  echo "At the other sizes, once each, in step 5 (the size's snapshot served and Redis holding that size's codes; the first million of that size's ids, answers discarded while timed):"
  echo
  echo "| records | ids | \`credgate screen --index\` ids/s | POST /v1/screen ids/s | Redis SMISMEMBER ids/s | load average |"
  echo "|---|---|---|---|---|---|"
  for x in "${BATCH_ROWS[@]}"; do echo "$x"; done
fi
echo
echo "## Memory at each size, and serving under a cap of a quarter of Redis"
echo
echo "Redis flushed and loaded with the team data of the size (a SET of the codes and a HASH per code); credgate serving the size's snapshot, read after one wrk round ($DURATION) over a million of that size's ids (at 1M: the ids above). RssAnon is the server's own memory (heap, stacks, buffers); RssFile is snapshot pages mapped from the page cache, which the kernel may drop and read again."
echo
echo "| records | snapshot MiB | credgate req/s in that round | credgate RssAnon MiB | RssFile MiB | Redis used_memory MiB | Redis RSS MiB | RssAnon / used_memory | (RssAnon + RssFile) / used_memory |"
echo "|---|---|---|---|---|---|---|---|---|"
for x in "${MEM_ROWS[@]}"; do echo "$x"; done
echo
echo "Then credgate again on the same snapshot, its pages first evicted from the page cache, inside a memory cgroup whose limit is a quarter of Redis's used_memory (page cache the server reads is charged to it), for one wrk round:"
echo
echo "| records | cap MiB | snapshot MiB still cached at start | req/s | p99 ms | errors | peak cgroup usage MiB |"
echo "|---|---|---|---|---|---|---|"
for x in "${CAP_ROWS[@]}"; do echo "$x"; done
echo
echo "- credgate server RSS after the 1M load rounds above: $((CG_RSS / 1024)) MiB (peak $((CG_HWM / 1024)) MiB)"
echo
echo "## SPEC §9 targets"
echo
echo "| target | measured here | |"
echo "|---|---|---|"
if [ -f "$WORK/lat-10000000" ]; then
  lat10() { grep "^check $1 " "$WORK/lat-10000000" | awk '{ print $8 }'; }
  echo "| check < 5 µs median (10M) | $(lat10 hit_org) µs org hit, $(lat10 hit_linked_person) µs linked person, $(lat10 miss) µs miss at 10M (1M: $(lat_med hit_org), $(lat_med hit_linked_person), $(lat_med miss)) | $(metnot "$(lat10 hit_linked_person)" "<" 5) at 10M |"
else
  echo "| check < 5 µs median (10M) | $(lat_med hit_org) µs org hit, $(lat_med hit_linked_person) µs linked person, $(lat_med miss) µs miss at 1M | $(metnot "$(lat_med hit_linked_person)" "<" 5) at 1M |"
fi
echo "| /v1/check ≥ 90 % of hello | $(s ratio_hello %.3f) | $(metnot "$(m ratio_hello)" ">=" 0.9) |"
echo "| /v1/check ≥ Redis GET | $(s ratio_get %.3f) | $(metnot "$(m ratio_get)" ">=" 1) |"
echo "| p99 < 1 ms at half of peak load | $HC_P99 ms at $HALF req/s (hello: $HH_P99 ms) | $(metnot "$HC_P99" "<" 1) |"
if [ -n "$BIG_N" ]; then
  echo "| batch offline ≥ 1,000,000 ids/s (10M) | $(printf %.0f "$BIG_OFF") ids/s at $BIG_N (1M: $(printf %.0f "$(m b_off)")) | $(metnot "$BIG_OFF" ">=" 1000000) at $BIG_N |"
  echo "| batch HTTP ≥ 500,000 ids/s (10M) | $(printf %.0f "$BIG_HTTP") ids/s at $BIG_N (1M: $(printf %.0f "$(m b_http)")) | $(metnot "$BIG_HTTP" ">=" 500000) at $BIG_N |"
else
  echo "| batch offline ≥ 1,000,000 ids/s (10M) | $(printf %.0f "$(m b_off)") ids/s at 1M | $(metnot "$(m b_off)" ">=" 1000000) at 1M |"
  echo "| batch HTTP ≥ 500,000 ids/s (10M) | $(printf %.0f "$(m b_http)") ids/s at 1M | $(metnot "$(m b_http)" ">=" 500000) at 1M |"
fi
bw=$(echo "${BUILD_ROWS[1]:-}" | awk -F'|' '{ print $3 }' | tr -d ' ')
echo "| build 10M ≤ 90 s | ${bw:-not run (needs --with-10m)} | $( [ -n "$bw" ] && metnot "$bw" "<" 90.0001 || echo —) |"
echo "| build 100M peak ≤ 4 GiB | $( [ -n "${BUILD_ROWS[2]:-}" ] && echo "${BUILD_ROWS[2]}" | awk -F'|' '{ print $6 " MiB" }' || echo "not run (needs --with-100m)") | — |"
echo "| open < 100 ms | $(awk '/^open_ms/ { print $3 }' "$WORK/lat-1000000") ms median at 1M | $(metnot "$(awk '/^open_ms/ { print $3 }' "$WORK/lat-1000000")" "<" 100) |"
echo "| server memory ≤ ¼ of Redis | own (anonymous) memory / Redis used_memory: $(for x in "${MEM_ROWS[@]}"; do echo "$x" | awk -F'|' '{ gsub(/ /, "", $2); gsub(/ /, "", $9); gsub(/ /, "", $10); printf "%s at %s (with mapped snapshot pages %s); ", $9, $2, $10 }'; done)served under a cgroup cap of ¼: see Memory | $(metnot 0.25 ">=" "$RED_ANON") for own memory at 1M |"
echo
echo "## Profile of the check path (callgrind, 10,000 checks of each kind; top by inclusive Ir)"
echo
echo "\`valgrind --tool=callgrind --toggle-collect='*check_loop*' check_latency ROOT 10000 --callgrind\`, total $TOTAL_IR Ir for 30,000 checks."
echo
echo '```'
cat "$WORK/callgrind.top"
echo '```'
if [ -n "$READING" ]; then
  echo
  echo "$READING"
fi
} > "$OUT"
echo "wrote $OUT"
