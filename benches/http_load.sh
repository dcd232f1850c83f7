#!/usr/bin/env bash
# Load harness for SPEC §9 (run by hand, not in CI): /v1/check against a bare hyper "hello"
# server and Redis GET on the same machine, in the same run, interleaved.
#
#   benches/http_load.sh                 # synthetic snapshot of $RECORDS records (default 1M)
#   DEMO=1 benches/http_load.sh          # the bundled sample (credgate serve --demo)
#   TRUST=1 benches/http_load.sh         # open server vs keys + audit (batch) + receipts
#
# TRUST=1 starts a second credgate on the same snapshot with --keys (one key, scope check),
# --audit-dir (durability batch) and --signing-key, and runs interleaved wrk rounds on
# /v1/check against both instead of the hello/Redis comparison, printing req/s, p99, the
# ratio trusted/open (goal ≥ 0.85) and the 1-minute load average after each round, then the
# median of the rounds' ratios.
# Odd rounds run the servers in the order of the columns printed (credgate, hello, Redis,
# hello_w; or open, trusted), even rounds in the reverse order, so that a host speeding up or
# slowing down over a round favours neither side of a ratio.
# NO_BUILD=1 skips the release build and uses target/release (or $CARGO_TARGET_DIR/release) as it is.
# ROOT and SOURCE may point at an existing snapshot root and its source directory (read
# only) instead of building one under DATA.
#
# Environment: RECORDS (1000000), SEED (1), ROUNDS (3), DURATION (10s), THREADS (2),
# CONNECTIONS (64), DATA (target/bench-data), PORT_BASE (below). Needs wrk, redis-server,
# curl, bc and python3 (apt-get install wrk redis-server curl bc python3). Prints req/s and p99 per round and the ratios credgate/hello and
# credgate/redis (goals: ≥ 0.90 and ≥ 1.0) and their medians over the rounds, then the latency at a fixed rate of half of
# credgate's median req/s (open loop, benches/support/rate_load.rs; goal p99 < 1 ms).
# "hello" is hyper's server as hyper's examples write it (tokio's multi-threaded runtime), the
# SPEC's yardstick. Each round also runs a second hello with credgate's connection layout
# (HELLO_WORKERS: a single-threaded runtime per CPU, see src/server/workers.rs) and prints
# credgate's ratio to it, cg/hello_w: what credgate's own work costs with the runtime layout
# the same on both sides (for reference; not a goal of SPEC §9).
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-1000000}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DATA=${DATA:-target/bench-data}
# PORT_BASE (18180): credgate, hello, Redis, the trusted credgate and the second hello use it
# and the next four ports; change it when another run holds them.
PORT_BASE=${PORT_BASE:-18180}
CG_ADDR=127.0.0.1:$PORT_BASE
HELLO_ADDR=127.0.0.1:$((PORT_BASE + 1))
REDIS_PORT=$((PORT_BASE + 2))
TRUST_ADDR=127.0.0.1:$((PORT_BASE + 3))
HELLO_W_ADDR=127.0.0.1:$((PORT_BASE + 4))
for port in "$PORT_BASE" $((PORT_BASE + 1)) $((PORT_BASE + 2)) $((PORT_BASE + 3)) $((PORT_BASE + 4)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use (another run?); set PORT_BASE" >&2
    exit 1
  fi
done

for tool in wrk redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk redis-server" >&2; exit 1; }
done

# shellcheck source=support/release.sh
source benches/support/release.sh
release_build --quiet --bin credgate --example hello_server --example rate_load
release_build --quiet -p credgate-index --bin index-builder
need_release credgate examples/hello_server examples/rate_load index-builder

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

mkdir -p "$DATA"
IDS="$DATA/ids.txt"
if [[ -n "${DEMO:-}" ]]; then
  "$BIN/credgate" serve --demo --listen "$CG_ADDR" 2>"$DATA/credgate.log" & pids+=($!)
  SOURCE=$(mktemp -d); cp -r data/sample/. "$SOURCE"
else
  SOURCE=${SOURCE:-"$DATA/source-$RECORDS-$SEED"}
  ROOT=${ROOT:-"$DATA/index-$RECORDS-$SEED"}
  [[ -d "$SOURCE" ]] || "$BIN/index-builder" synth --out "$SOURCE" --records "$RECORDS" --seed "$SEED"
  [[ -f "$ROOT/CURRENT" ]] || "$BIN/index-builder" build --source "$SOURCE" --out "$ROOT"
  "$BIN/credgate" serve --index "$ROOT" --listen "$CG_ADDR" 2>"$DATA/credgate.log" & pids+=($!)
fi

if [[ -n "${TRUST:-}" ]]; then
  TRUST_DIR=$(mktemp -d "$DATA/trust.XXXXXX")
  TOKEN=$("$BIN/credgate" keys new --name bench --scopes check --file "$TRUST_DIR/keys.toml" 2>/dev/null)
  if [[ -n "${DEMO:-}" ]]; then TRUST_INDEX=(--demo); else TRUST_INDEX=(--index "$ROOT"); fi
  "$BIN/credgate" serve "${TRUST_INDEX[@]}" --listen "$TRUST_ADDR" --keys "$TRUST_DIR/keys.toml" \
    --audit-dir "$TRUST_DIR/audit" --audit-durability batch --signing-key "$TRUST_DIR/signing.key" \
    2>"$DATA/credgate-trust.log" & pids+=($!)
fi
"$BIN/examples/hello_server" "$HELLO_ADDR" 2>/dev/null & pids+=($!)
HELLO_WORKERS=$(nproc) "$BIN/examples/hello_server" "$HELLO_W_ADDR" 2>/dev/null & pids+=($!)
[[ -n "${TRUST:-}" ]] || { redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize no >/dev/null & pids+=($!); }

# IDs: every subject id of the list files (hits), plus as many valid-looking misses.
awk -F, 'FNR > 1 { print $4 }' "$SOURCE"/lists/*.csv | grep -E '^[0-9A-Z]{18}$' | sort -u > "$DATA/hits.txt"
nhits=$(wc -l < "$DATA/hits.txt")
# Misses: each hit with its region code changed (positions 3-8 of a USCC, 1-6 of a resident
# number; neither is checked against a table) and its check character recomputed, so every
# miss is a valid identifier that is in no list.
python3 - "$DATA/hits.txt" > "$DATA/misses.txt" <<'PY'
import sys
CS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
for line in open(sys.argv[1]):
    s = line.strip()
    if s.isdigit() or (s[:17].isdigit() and s[17] == "X"):
        body = "990102" + s[6:17]
        w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        print(body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11])
    else:
        body = s[:2] + "999999" + s[8:17]
        w = [pow(3, i, 31) for i in range(17)]
        print(body + CS[(31 - sum(CS.index(c) * k for c, k in zip(body, w)) % 31) % 31])
PY
wait_up() { for _ in $(seq 1 300); do curl -fs "http://$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "$1 did not come up" >&2; exit 1; }
wait_up "$CG_ADDR/readyz"; wait_up "$HELLO_ADDR/"; wait_up "$HELLO_W_ADDR/"

# Keep only ids credgate accepts in strict mode (the sources hold deliberately nonconforming
# codes, which answer 422), screening them all in one /v1/screen call.
# An explicit header line, so row N is line N of the two files whatever the first id is.
{ echo id; cat "$DATA/hits.txt" "$DATA/misses.txt"; } \
  | curl -fs -X POST -H 'Content-Type: text/csv' --data-binary @- "http://$CG_ADDR/v1/screen?scenario=procurement" \
  | python3 -c 'import sys, json
# The answers echo people'"'"'s numbers masked, so the ids are taken from the input by row.
ids = [l.strip() for f in sys.argv[1:] for l in open(f) if l.strip()]
for l in sys.stdin:
    r = json.loads(l)
    if r.get("error") is None: print(ids[r["row"] - 1])' "$DATA/hits.txt" "$DATA/misses.txt" \
  | shuf --random-source=<(yes "$SEED") > "$IDS"
echo "ids: $(wc -l < "$IDS") valid of $(wc -l < "$DATA/hits.txt") hits + $(wc -l < "$DATA/misses.txt") misses"

# Redis holds as many keys as there are ids (value: the decision a cache would hold), named
# as redis-benchmark -r names the keys it asks for (key:NNNNNNNNNNNN, 0 to the count - 1), so
# every GET finds its key. Sent in Redis's wire protocol through --pipe: a command at a time
# waits for each answer, minutes for a million keys.
if [[ -z "${TRUST:-}" ]]; then
  for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  awk '{ printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$4\r\ndeny\r\n", NR - 1 }' "$IDS" \
    | redis-cli -p "$REDIS_PORT" --pipe >/dev/null
  echo "redis keys: $(redis-cli -p "$REDIS_PORT" dbsize)"
fi

LUA=benches/support/check.lua

if [[ -n "${TRUST:-}" ]]; then
  wait_up "$TRUST_ADDR/readyz"
  # One request by hand: the key works and the answer carries a version-2 receipt.
  curl -fs -H "Authorization: Bearer $TOKEN" "http://$TRUST_ADDR/v1/check?id=$(head -1 "$IDS")&scenario=procurement" \
    | python3 -c 'import sys, json; r = json.load(sys.stdin)["receipt"]; assert r["version"] == 2, r'
fi

# run_wrk ADDR [TOKEN] → req/s, p99 ms, errors (benches/support/check.lua; hello gets the same
# /v1/check requests as credgate, so wrk does the same work for both).
run_wrk() { local a=$1; shift; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$LUA" "http://$a" -- "$IDS" "$@" | awk '/^RESULT/ { print $3, $5, $6 }'; }
run_redis() {
  redis-benchmark -p "$REDIS_PORT" -t get -n 1000000 -c "$CONNECTIONS" --threads "$THREADS" -r "$(wc -l < "$IDS")" -q 2>/dev/null \
    | tr '\r' '\n' | awk '/GET:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { rps = $i; break } } /p50=/ { } END { print rps }'
}

# in_order ROUND STEP...: runs the steps in the order given in odd rounds, reversed in even.
in_order() {
  local r=$1; shift
  local steps=("$@") i
  if (( r % 2 )); then
    for ((i = 0; i < ${#steps[@]}; i++)); do "${steps[$i]}"; done
  else
    for ((i = ${#steps[@]} - 1; i >= 0; i--)); do "${steps[$i]}"; done
  fi
}

# The median of the per-round ratios: each round's servers ran a minute apart at most, so a
# round's ratio is the paired comparison, and its median the one figure to quote.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m }'; }
trust_ratios=()

# One server's run of a round: the figures go to the variables the round prints.
cg_round() { read -r cg cgp99 cgerr < <(run_wrk "$CG_ADDR"); }
trusted_round() { read -r tr trp99 trerr < <(run_wrk "$TRUST_ADDR" "$TOKEN"); }
if [[ -n "${TRUST:-}" ]]; then
  printf '%-6s %12s %9s %7s %12s %9s %7s %8s %6s\n' round open_rps p99_ms errors trust_rps p99_ms errors trust/open load1
  for r in $(seq 1 "$ROUNDS"); do
    in_order "$r" cg_round trusted_round
    ratio=$(echo "$tr / $cg" | bc -l)
    trust_ratios+=("$ratio")
    printf '%-6s %12s %9s %7s %12s %9s %7s %8.3f %6s\n' "$r" "$cg" "$cgp99" "$cgerr" "$tr" "$trp99" "$trerr" \
      "$ratio" "$(cut -d' ' -f1 /proc/loadavg)"
  done
  echo "median over $ROUNDS rounds: trusted/open $(median "${trust_ratios[@]}") (goal >= 0.85)"
  echo "audit lines written: $(cat "$TRUST_DIR"/audit/*.jsonl | wc -l)"
  rm -rf "$TRUST_DIR"
  exit 0
fi

printf '%-6s %14s %9s %7s %14s %9s %14s %8s %8s %14s %10s\n' round credgate_rps p99_ms errors hello_rps p99_ms redis_get_rps cg/hello cg/redis hello_w_rps cg/hello_w
all_cg=()
hello_ratios=()
redis_ratios=()
hello_w_ratios=()
hello_round() { read -r he hep99 _ < <(run_wrk "$HELLO_ADDR"); }
redis_round() { rd=$(run_redis); }
hello_w_round() { read -r hw _ _ < <(run_wrk "$HELLO_W_ADDR"); }
for r in $(seq 1 "$ROUNDS"); do
  in_order "$r" cg_round hello_round redis_round hello_w_round
  all_cg+=("$cg")
  hello_ratio=$(echo "$cg / $he" | bc -l)
  redis_ratio=$(echo "$cg / ${rd:-1}" | bc -l)
  hello_w_ratio=$(echo "$cg / $hw" | bc -l)
  hello_ratios+=("$hello_ratio")
  redis_ratios+=("$redis_ratio")
  hello_w_ratios+=("$hello_w_ratio")
  printf '%-6s %14s %9s %7s %14s %9s %14s %8.3f %8.3f %14s %10.3f\n' "$r" "$cg" "$cgp99" "$cgerr" "$he" "$hep99" "$rd" \
    "$hello_ratio" "$redis_ratio" "$hw" "$hello_w_ratio"
done
echo "median over $ROUNDS rounds: cg/hello $(median "${hello_ratios[@]}") (goal >= 0.90), cg/redis $(median "${redis_ratios[@]}") (goal >= 1); cg/hello_w $(median "${hello_w_ratios[@]}") (reference)"
echo "errors: non-2xx answers or socket errors wrk saw from credgate (all ids are valid, so expect 0)"

half=$(printf '%s\n' "${all_cg[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%d", v[int((NR + 1) / 2)] / 2 }')
awk '{ print "/v1/check?id=" $1 "&scenario=procurement" }' "$IDS" > "$DATA/check.paths"
echo "fixed rate $half req/s (half of credgate's median) for ${DURATION%s} s, 16 connections, load $(cut -d' ' -f1-3 /proc/loadavg):"
echo "target   offered achieved p50_ms p90_ms p99_ms p999_ms max_ms errors sent svc_p50_ms svc_p99_ms"
echo "(p50..max from each request's scheduled time, the target's measure; svc_: from its write to its response, the server's part)"
printf 'credgate '; "$BIN/examples/rate_load" "$CG_ADDR" "$DATA/check.paths" "$half" "${DURATION%s}" 16 | cut -d' ' -f2-
printf 'hello    '; "$BIN/examples/rate_load" "$HELLO_ADDR" "$DATA/check.paths" "$half" "${DURATION%s}" 16 | cut -d' ' -f2-
