#!/usr/bin/env bash
# User-space instructions per request: credgate's GET /v1/check against the bare hyper
# "hello" server, counted by valgrind's callgrind (run by hand, not in CI). The last row,
# hello_w, is the hello server laid out as credgate's connections are (HELLO_WORKERS).
#
#   benches/instructions.sh                 # credgate from target/release, 2,000 requests
#   BINS="/tmp/a /tmp/b" benches/instructions.sh   # several credgate builds side by side
#
# Why: on a shared two-core machine wall-clock throughput swings by a third between spells
# (benches/RESULTS.md), so a change worth a few hundred nanoseconds a request cannot be seen
# in req/s. Instructions retired per request are close to deterministic (±2 % between runs,
# from how many requests each wake-up finds), so they show what a code change removed. They
# leave out the kernel (loopback TCP is most of a request's cost and the same for both
# servers) and cache misses, so they say where user time goes, not the req/s ratio; that
# stays benches/http_load.sh's and benches/compare.sh's job.
#
# Each server runs under `valgrind --tool=callgrind`; the harness waits until it answers,
# sends 400 warm-up requests, zeroes the counters (callgrind_control -z), sends N requests
# at a fixed RATE over 8 connections with benches/support/rate_load.rs, dumps the counters
# (callgrind_control -d) and divides the total by the requests answered. Start-up (opening
# and verifying the snapshot) is not counted.
#
# Environment: RECORDS (100000) records of `index-builder synth --seed 1` in the snapshot,
# N (2000) requests, RATE (400) per second (callgrind runs code ~50× slower), DATA
# (target/bench-data), PORT_BASE (18250; the next few ports too), BINS (credgate binaries,
# default target/release/credgate). Needs valgrind (apt-get install valgrind) and curl. The
# callgrind files stay in $DATA/instructions/ for `callgrind_annotate --inclusive=yes FILE`.
# NO_BUILD=1 skips the release build and uses target/release (or $CARGO_TARGET_DIR/release) as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-100000}
N=${N:-2000}
RATE=${RATE:-400}
DATA=${DATA:-target/bench-data}
PORT_BASE=${PORT_BASE:-18250}
for tool in valgrind callgrind_control callgrind_annotate curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install valgrind curl" >&2; exit 1; }
done
# shellcheck source=support/release.sh
source benches/support/release.sh
release_build --quiet --bin credgate --example hello_server --example rate_load
release_build --quiet -p credgate-index --bin index-builder
need_release credgate examples/hello_server examples/rate_load index-builder
BINS=${BINS:-$BIN/credgate}
OUT="$DATA/instructions"
mkdir -p "$OUT"

# The snapshot, and ids: listed subjects of this source (hits) and of another seed's source
# (valid codes this snapshot mostly lacks), kept only if valid in strict mode.
SRC="$DATA/instr-source-$RECORDS"; ROOT="$DATA/instr-index-$RECORDS"; OTHER="$DATA/instr-other"
[[ -d "$SRC" ]] || "$BIN/index-builder" synth --out "$SRC" --records "$RECORDS" --seed 1 >/dev/null
[[ -f "$ROOT/CURRENT" ]] || "$BIN/index-builder" build --source "$SRC" --out "$ROOT" >/dev/null
[[ -d "$OTHER" ]] || "$BIN/index-builder" synth --out "$OTHER" --records 20000 --seed 2 >/dev/null
valid_ids() {
  awk -F, 'FNR > 1 { print $4 }' "$1"/lists/*.csv | sort -u \
    | { "$BIN/credgate" validate || true; } \
    | sed -n 's/.*"valid":true,"id_type":"[a-z_]*","normalized":"\([0-9A-Z]\{18\}\)".*/\1/p' \
    | awk -v n="$N" 'NR <= n' # reads to the end: no SIGPIPE under pipefail
}
{ valid_ids "$SRC"; valid_ids "$OTHER"; } | shuf --random-source=<(yes 7) > "$OUT/ids.txt"
sed 's|^|/v1/check?scenario=procurement\&id=|' "$OUT/ids.txt" > "$OUT/check.paths"
echo "snapshot: $RECORDS records; $(wc -l < "$OUT/ids.txt") valid ids, hits and misses; $N requests at $RATE/s"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# measure NAME PORT PATHS HEALTH CMD...: Ir per answered request of one server.
measure() {
  local name=$1 port=$2 paths=$3 health=$4; shift 4
  local file="$OUT/callgrind.$name" pid result sent errors ir
  rm -f "$file" "$file".*
  valgrind --tool=callgrind --callgrind-out-file="$file" "$@" 2>/dev/null & pid=$!; pids+=("$pid")
  for _ in $(seq 600); do
    curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port$health" && break
    kill -0 "$pid" 2>/dev/null || { echo "$name exited before answering" >&2; exit 1; }
    sleep 0.5
  done
  "$BIN/examples/rate_load" "127.0.0.1:$port" "$paths" 200 2 8 >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  result=$("$BIN/examples/rate_load" "127.0.0.1:$port" "$paths" "$RATE" "$(awk -v n="$N" -v r="$RATE" 'BEGIN { print n / r }')" 8)
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # rate_load prints: RATE rate achieved p50 p90 p99 p99.9 max errors sent svc_p50 svc_p99.
  read -r _ _ _ _ _ _ _ _ errors sent _ <<<"$result"
  ir=$(callgrind_annotate "$file.1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  [[ "$errors" == 0 ]] || echo "warning: $name answered $errors requests with an error" >&2
  echo "$name $sent $((ir / sent)) $file.1"
}

rows=()
port=$PORT_BASE
for b in $BINS; do
  port=$((port + 1))
  rows+=("$(measure "$(basename "$b")" "$port" "$OUT/check.paths" /readyz \
    "$b" serve --index "$ROOT" --listen "127.0.0.1:$port")")
done
port=$((port + 1))
hello=$(measure hello "$port" "$OUT/check.paths" / "$BIN/examples/hello_server" "127.0.0.1:$port")
hello_ir=$(awk '{ print $3 }' <<<"$hello")
# The hello server with credgate's connection layout (a single-threaded runtime per CPU;
# see benches/support/hello_server.rs), for reference.
port=$((port + 1))
hello_w=$(HELLO_WORKERS=$(nproc) measure hello_w "$port" "$OUT/check.paths" / "$BIN/examples/hello_server" "127.0.0.1:$port")
echo
echo "| server | requests | instructions / request | × hello |"
echo "|---|---|---|---|"
for r in "${rows[@]}" "$hello" "$hello_w"; do
  read -r name sent ir file <<<"$r"
  awk -v n="$name" -v s="$sent" -v i="$ir" -v h="$hello_ir" 'BEGIN { printf "| %s | %d | %d | %.2f |\n", n, s, i, i / h }'
done
echo
echo "callgrind files: $OUT/callgrind.*.1 (callgrind_annotate --inclusive=yes FILE)"
