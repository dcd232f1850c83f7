#!/usr/bin/env bash
# Hot reload under load (issue 5): wrk drives /v1/check while new snapshot generations are
# published into the served root and picked up three ways in turn — POST /v1/admin/reload,
# SIGHUP, and the server's own CURRENT poller — plus one corrupted generation that must be
# refused while the old one keeps serving. Prints wrk's totals, its error count (non-2xx
# answers and socket errors; the goal is 0) and the server's reload counters.
#
#   benches/reload_load.sh                  # 1M synthetic records (RECORDS, SEED)
#   DEMO=1 benches/reload_load.sh           # the bundled sample: quick
#
# Environment: RECORDS (1000000), SEED (1), RELOADS (9), CONNECTIONS (64), DATA
# (target/bench-data), PORT (18190, the server's). Needs wrk and curl (apt-get install wrk
# curl).
# NO_BUILD=1 skips the release build and uses target/release (or $CARGO_TARGET_DIR/release) as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-1000000}
SEED=${SEED:-1}
RELOADS=${RELOADS:-9}
CONNECTIONS=${CONNECTIONS:-64}
DATA=${DATA:-target/bench-data}
ADDR=127.0.0.1:${PORT:-18190}
command -v wrk >/dev/null || { echo "missing wrk: apt-get install wrk" >&2; exit 1; }

# shellcheck source=support/release.sh
source benches/support/release.sh
release_build --quiet --bin credgate
release_build --quiet -p credgate-index --bin index-builder
need_release credgate index-builder
mkdir -p "$DATA"
WORK=$(mktemp -d "$DATA/reload.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'echo "reload_load.sh: failed at line $LINENO" >&2' ERR

if [[ -n "${DEMO:-}" ]]; then
  SOURCE="$WORK/source"; cp -r data/sample "$SOURCE"
else
  SOURCE="$DATA/source-$RECORDS-$SEED"
  [[ -d "$SOURCE" ]] || "$BIN/index-builder" synth --out "$SOURCE" --records "$RECORDS" --seed "$SEED"
fi
ROOT="$WORK/root"
# The served root gets a fresh build (generations are cheap to add: the source is reused).
"$BIN/index-builder" build --source "$SOURCE" --out "$ROOT" --keep 3 >/dev/null
# The poller looks for a new CURRENT every 500 ms (the default is 2 s).
echo "poll_interval_ms = 500" > "$WORK/server.toml"
"$BIN/credgate" serve --index "$ROOT" --listen "$ADDR" --config "$WORK/server.toml" 2>"$WORK/server.log" & pids+=($!)
SERVER=${pids[-1]}
for _ in $(seq 1 300); do curl -fs "http://$ADDR/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://$ADDR/readyz" >/dev/null || { echo "server did not come up" >&2; cat "$WORK/server.log" >&2; exit 1; }

# Valid ids from the sources: organisations only, so no request is refused for a reason that
# has nothing to do with reloading.
# (The sources hold deliberately nonconforming codes, which strict checks answer with 422:
# `credgate validate` keeps the valid ones.)
awk -F, 'FNR > 1 && $3 == "org" { print $4 }' "$SOURCE"/lists/*.csv | grep -E '^[0-9A-Z]{18}$' | sort -u | awk 'NR <= 100000' \
  | { "$BIN/credgate" validate || true; } \
  | python3 -c 'import sys, json
for l in sys.stdin:
    r = json.loads(l)
    if r["valid"]: print(r["normalized"])' > "$WORK/ids.txt"

snapshot() { curl -fs "http://$ADDR/v1/snapshot" | python3 -c 'import sys, json; print(json.load(sys.stdin)["snapshot_id"])'; }
wait_for_change() {
  for _ in $(seq 1 600); do [[ "$(snapshot)" != "$1" ]] && return 0; sleep 0.05; done
  echo "the server did not pick up the new generation" >&2; exit 1
}
# Each new generation differs (a changed source row) so its snapshot id differs. They are all
# built before the load starts, each in a side root, so the reloads fall inside wrk's run
# however long a build takes; `activate` then does what the builder's publish step does: move
# the generation into the served root and replace CURRENT atomically.
prebuild() {
  python3 - "$SOURCE" "$WORK/src-$1" "$1" <<'PY'
import shutil, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
shutil.copytree(src, dst)
with open(dst + "/lists/court.csv", "a", encoding="utf-8") as f:
    f.write(f"JUD-RELOAD-{n},court_defaulter,org,91410100MA2MAYK72W,测试公司{n},郑州市中级人民法院,(2026)豫01执{9000 + n}号,有履行能力而拒不履行,2026-01-05,2026-01-05,,\n")
PY
  "$BIN/index-builder" build --source "$WORK/src-$1" --out "$WORK/side-$1" >/dev/null
  rm -rf "$WORK/src-$1"
}
activate() {
  local gen; gen=$(cat "$WORK/side-$1/CURRENT")
  mv "$WORK/side-$1/$gen" "$ROOT/$gen"
  echo "$gen" > "$ROOT/CURRENT.tmp" && mv "$ROOT/CURRENT.tmp" "$ROOT/CURRENT"
}
echo "building $RELOADS + 1 generations to publish under load"
for n in $(seq 1 "$RELOADS") 99; do prebuild "$n"; done
# The last one gets a byte of its records table flipped.
python3 - "$WORK/side-99/$(cat "$WORK/side-99/CURRENT")/records.tbl" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xFF; open(p, "wb").write(bytes(b))
PY

# wrk runs back to back in 5-second rounds until the reloads are done (a reload of a large
# snapshot takes as long as verifying it, so no fixed duration fits every size); the totals
# add up the rounds.
: > "$WORK/wrk.out"
( while [[ ! -e "$WORK/stop" ]]; do
    wrk -t2 -c"$CONNECTIONS" -d5s -s benches/support/check.lua "http://$ADDR" -- "$WORK/ids.txt" >> "$WORK/wrk.out"
  done ) & WRK=$!
T0=$(date +%s)
sleep 1
for n in $(seq 1 "$RELOADS"); do
  before=$(snapshot)
  activate "$n"
  case $((n % 3)) in
    1) curl -fs -X POST "http://$ADDR/v1/admin/reload" >/dev/null; how="admin endpoint" ;;
    2) kill -HUP "$SERVER"; how="SIGHUP" ;;
    0) how="CURRENT poller" ;;
  esac
  wait_for_change "$before"
  echo "reload $n ($how): $before -> $(snapshot) at $(date +%T.%N | cut -c1-12)"
done
# The corrupted generation: named by CURRENT, it must be refused by the admin reload and by
# the poller, and the old one keeps serving.
before=$(snapshot)
activate 99
code=$(curl -s -o "$WORK/refused.json" -w '%{http_code}' -X POST "http://$ADDR/v1/admin/reload")
sleep 1.5 # three poll intervals: give the poller its chance to (wrongly) swap it in
after=$(snapshot)
echo "corrupted generation: admin reload answered $code $(head -c 300 "$WORK/refused.json"); serving $after (before: $before)"
[[ "$after" == "$before" ]] || { echo "a corrupted generation was swapped in" >&2; exit 1; }
touch "$WORK/stop"
wait "$WRK"
DURATION=$(( $(date +%s) - T0 ))

read -r rounds total rps p99 e_status e_connect e_read e_write e_timeout < <(awk '/^RESULT/ {
    n++; t += $2; r += $3; if ($5 > p) p = $5; s += $7; c += $8; rd += $9; w += $10; to += $11 }
  END { print n, t, r / n, p, s, c, rd, w, to }' "$WORK/wrk.out")
errors=$((e_status + e_connect + e_read + e_write + e_timeout))
echo "wrk: $total requests in $rounds back-to-back 5 s rounds over ${DURATION}s (mean $rps req/s, worst round p99 $p99 ms) across $RELOADS reloads and 1 refused one"
echo "wrk errors: $errors (status $e_status, connect $e_connect, read $e_read, write $e_write, timeout $e_timeout)"
curl -fs "http://$ADDR/metrics" | grep '^credgate_reloads_total'
[[ "$errors" == 0 ]] || { echo "FAILED: requests failed across reloads" >&2; exit 1; }
echo "zero failed requests across reloads"
