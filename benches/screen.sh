#!/usr/bin/env bash
# Batch screening throughput, SPEC §9: `credgate screen --index` ≥ 1,000,000 IDs/s and
# `POST /v1/screen` ≥ 500,000 IDs/s on a 10M-record snapshot (2 cores).
#
#   benches/screen.sh [--root ROOT] [--compare BIN] [--rounds N] [--no-http] [RECORDS] [IDS] [WORKDIR]
#       (defaults: 10000000 10000000 target/bench-screen)
#
# Without --root: synthesises a source of RECORDS records (seed 1) and builds it into
# WORKDIR/snap. With --root: screens against that existing snapshot root instead, read-only
# (RECORDS is then only a label), taking listed identifiers from its subjects table.
#
# The supplier list has IDS identifiers: about 40 % listed subjects, 58 % valid codes in no
# list (a listed code with its region replaced and its check character recomputed), 2 %
# invalid (a wrong last character). It is screened:
#   offline       `credgate screen LIST --index ROOT --format ndjson`   (rate from its summary)
#   offline-csv   the same, CSV out
#   http-curl     `curl --data-binary @LIST POST /v1/screen`, NDJSON back (rate = rows / curl's time)
#   http-client   `credgate screen LIST --server URL` (the client parses and rewrites every row
#                 on the same two cores as the server)
# --compare BIN runs every step with BIN as well, alternating with this build in each round,
# so that "before" and "after" share the machine's load. The load average is printed next to
# every figure. Data stays in WORKDIR between runs (delete it to rebuild). PORT (18088) is
# the port the servers of the HTTP steps listen on.
# NO_BUILD=1 skips the release build and uses target/release (or $CARGO_TARGET_DIR/release) as it is.
set -euo pipefail

ROOT=""
COMPARE=""
ROUNDS=1
HTTP=1
ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT=$2; shift 2 ;;
    --compare) COMPARE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-http) HTTP=0; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
RECORDS=${ARGS[0]:-10000000}
IDS=${ARGS[1]:-10000000}
WORK=${ARGS[2]:-target/bench-screen}
cd "$(dirname "$0")/.."
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# shellcheck source=support/release.sh
source benches/support/release.sh
# Two packages, one binary each (`cargo build --bin a --bin b` looks in the default package only).
release_build -p credgate --bin credgate
release_build -p credgate-index --bin index-builder
need_release credgate index-builder

if [ -z "$ROOT" ]; then
  if [ ! -d "$WORK/source" ]; then
    "$BIN/index-builder" synth --out "$WORK/source" --records "$RECORDS" --seed 1
  fi
  if [ ! -d "$WORK/snap" ]; then
    "$BIN/index-builder" build --source "$WORK/source" --out "$WORK/snap"
  fi
  ROOT=$WORK/snap
fi
GEN="$ROOT/$(cat "$ROOT/CURRENT")"

LIST="$WORK/suppliers-$IDS.csv"
if [ ! -f "$LIST" ]; then
  # Listed identifiers: the subjects table holds every identifier of the snapshot (48-byte
  # rows after a 32-byte header, the identifier first); take an even stride of them.
  python3 - "$GEN/subjects.tbl" "$((IDS * 2 / 5 + 1))" > "$WORK/listed.txt" <<'PY'
import mmap, sys
path, want = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    rows = (len(m) - 32) // 48
    step = max(1, rows // want)
    for i in range(0, rows, step):
        print(m[32 + 48 * i: 32 + 48 * i + 18].decode("ascii"))
PY
  # Unlisted: each listed code with another region (990102 for people, 999999 for
  # organisations) and its check character recomputed; valid, and in no list.
  python3 - "$WORK/listed.txt" > "$WORK/unlisted.txt" <<'PY'
import sys
CS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
W31 = [pow(3, i, 31) for i in range(17)]
W11 = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
out = sys.stdout
for line in open(sys.argv[1]):
    s = line.strip()
    if s[:17].isdigit() and (s[17].isdigit() or s[17] == "X"):
        body = "990102" + s[6:17]
        out.write(body + "10X98765432"[sum(int(c) * k for c, k in zip(body, W11)) % 11] + "\n")
    elif all(c in CS for c in s[:17]):
        body = s[:2] + "999999" + s[8:17]
        out.write(body + CS[(31 - sum(CS.index(c) * k for c, k in zip(body, W31)) % 31) % 31] + "\n")
PY
  # Interleave listed and unlisted codes, reopening a file when it runs out; every 50th row
  # gets a wrong last character.
  awk -v n="$IDS" -v a="$WORK/listed.txt" -v b="$WORK/unlisted.txt" '
    function next_of(f,   line) {
      if ((getline line < f) <= 0) { close(f); getline line < f }
      return line
    }
    BEGIN {
      print "序号,企业名称,统一社会信用代码"
      for (i = 1; i <= n; i++) {
        id = (i % 5 < 2) ? next_of(a) : next_of(b)
        if (i % 50 == 0) id = substr(id, 1, 17) (substr(id, 18, 1) == "X" ? "0" : "X")
        print i ",供应商" i "," id
      }
    }' > "$LIST"
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }

# label, binary, extra args...: one offline run, rate from the summary line.
offline() {
  local label=$1 bin=$2; shift 2
  local log="$WORK/$label.log"
  local before
  before=$(load)
  # The timed run writes to /dev/null: hashing or storing the output on the same two cores
  # would measure sha256sum and the disk (an NDJSON answer is ~385 bytes a row). With
  # --compare an untimed second run hashes the output for the equality check (kept whole,
  # at 10M rows the outputs would fill the disk).
  /usr/bin/time -v "$bin" screen "$LIST" --index "$ROOT" --scenario procurement --out /dev/null "$@" 2> "$log" || true
  if [ -n "$COMPARE" ]; then
    "$bin" screen "$LIST" --index "$ROOT" --scenario procurement --out /dev/stdout "$@" 2> /dev/null \
      | sha256sum > "$WORK/$label.sha" || true
  fi
  local summary rss cpu
  summary=$(grep '^credgate screen:' "$log" || tail -3 "$log")
  rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$log")
  # CPU seconds (user + system) depend much less on the other load than the wall clock.
  cpu=$(awk -F: '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$log")
  printf '%-22s %s; cpu %s s; peak RSS %s MiB; load %s -> %s\n' "$label" "$summary" "$cpu" "$((rss / 1024))" "$before" "$(load)"
}

# CPU seconds a process has used so far (user + system).
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

PORT=${PORT:-18088}
SERVER=""
stop_server() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2> /dev/null || true
    wait "$SERVER" 2> /dev/null || true
    SERVER=""
  fi
}
trap stop_server EXIT

# label, binary: start a server on ROOT (it verifies the snapshot first), POST the list with
# curl, then screen it with the binary's own --server client.
http() {
  local label=$1 bin=$2
  "$bin" serve --index "$ROOT" --listen "127.0.0.1:$PORT" > "$WORK/serve-$label.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 6000); do
    curl -fs "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1 && break
    sleep 0.1
  done
  local before secs rows cpu0
  before=$(load)
  cpu0=$(cpu_of "$SERVER")
  # Timed: the answer goes to /dev/null (see offline()); rows are the list's, and the
  # summary line (?summary=1) is checked to hold them all. NDJSON back, then CSV back.
  local accept
  for accept in application/x-ndjson text/csv; do
    before=$(load)
    cpu0=$(cpu_of "$SERVER")
    secs=$(curl -fsS -o /dev/null -w '%{time_total}' -X POST -H 'Content-Type: text/csv' -H "Accept: $accept" \
      --data-binary @"$LIST" "http://127.0.0.1:$PORT/v1/screen?scenario=procurement")
    rows=$((IDS))
    printf '%-22s %d rows in %.2f s, %.0f IDs/s; server cpu %.2f s; load %s -> %s\n' "$label-curl-${accept#*/}" "$rows" "$secs" \
      "$(echo "$rows $secs" | awk '{ print $1 / $2 }')" "$(echo "$(cpu_of "$SERVER") $cpu0" | awk '{ print $1 - $2 }')" "$before" "$(load)"
  done
  # Untimed: every row answered (the summary counts them), and the answer's hash for --compare.
  curl -fsS -X POST -H 'Content-Type: text/csv' --data-binary @"$LIST" \
    "http://127.0.0.1:$PORT/v1/screen?scenario=procurement&summary=1" \
    | tee >(tail -n 1 > "$WORK/$label-curl.summary") | sha256sum > "$WORK/$label-curl.sha"
  grep -q "\"rows\":$IDS[,}]" "$WORK/$label-curl.summary" \
    || { echo "$label: /v1/screen did not answer all $IDS rows: $(cat "$WORK/$label-curl.summary")" >&2; exit 1; }
  before=$(load)
  "$bin" screen "$LIST" --server "http://127.0.0.1:$PORT" --scenario procurement --format csv --out /dev/stdout \
    2> "$WORK/$label-client.log" | sha256sum > "$WORK/$label-client.sha" || true
  printf '%-22s %s; load %s -> %s\n' "$label-client" "$(grep '^credgate screen:' "$WORK/$label-client.log" || tail -3 "$WORK/$label-client.log")" "$before" "$(load)"
  stop_server
}

echo "snapshot: $ROOT ($RECORDS records); list: $IDS identifiers ($LIST); $(nproc) cores"
for round in $(seq 1 "$ROUNDS"); do
  echo "-- round $round"
  [ -n "$COMPARE" ] && offline "before-offline" "$COMPARE" --format ndjson
  offline "offline" "$BIN/credgate" --format ndjson
  [ -n "$COMPARE" ] && offline "before-offline-csv" "$COMPARE" --format csv
  offline "offline-csv" "$BIN/credgate" --format csv
  if [ "$HTTP" = 1 ]; then
    [ -n "$COMPARE" ] && http "before-http" "$COMPARE"
    http "http" "$BIN/credgate"
  fi
done
if [ -n "$COMPARE" ]; then
  # Same list, same snapshot, same day: the outputs (their SHA-256) must not differ.
  outs=(offline offline-csv)
  [ "$HTTP" = 1 ] && outs+=(http-curl http-client)
  for f in "${outs[@]}"; do
    if cmp -s "$WORK/before-$f.sha" "$WORK/$f.sha"; then
      echo "$f: output identical to the compared build's ($(cut -c1-16 "$WORK/$f.sha"))"
    else
      echo "$f: output DIFFERS from the compared build's"
    fi
  done
fi
