#!/usr/bin/env bash
# Batch screening throughput, SPEC §9: `credgate screen --index` ≥ 1,000,000 IDs/s and
# `credgate screen --server` ≥ 500,000 IDs/s on a 10M-record snapshot (2 cores).
#
#   benches/screen.sh [RECORDS] [IDS] [WORKDIR]      (defaults: 10000000 10000000 target/bench-screen)
#
# Synthesises a source of RECORDS records and builds it, makes a supplier list of IDS
# identifiers (about 40 % listed subjects, 58 % valid but unlisted codes taken from a second
# synthetic source, 2 % invalid), screens it offline (in input order, and sorted by identifier per chunk) and, when
# this build has `credgate serve`, over HTTP. Prints IDs/s and peak RSS for each run. Data
# stays in WORKDIR between runs (delete it to rebuild).
set -euo pipefail

RECORDS=${1:-10000000}
IDS=${2:-10000000}
WORK=${3:-target/bench-screen}
cd "$(dirname "$0")/.."
mkdir -p "$WORK"

cargo build --release --bin credgate --bin index-builder
BIN=$PWD/target/release

if [ ! -d "$WORK/source" ]; then
  "$BIN/index-builder" synth --out "$WORK/source" --records "$RECORDS" --seed 1
fi
if [ ! -d "$WORK/snap" ]; then
  "$BIN/index-builder" build --source "$WORK/source" --out "$WORK/snap"
fi
if [ ! -d "$WORK/unlisted" ]; then
  # Another seed gives other codes: valid identifiers that are (almost all) not in the snapshot.
  "$BIN/index-builder" synth --out "$WORK/unlisted" --records "$((IDS / 2 + 1000))" --seed 2
fi

# The subject_id column of every list file, found by its header.
subject_ids() {
  awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "subject_id") c = i; next } { print $c }' "$1"/lists/*.csv
}

LIST="$WORK/suppliers-$IDS.csv"
if [ ! -f "$LIST" ]; then
  subject_ids "$WORK/source" > "$WORK/listed.txt"
  subject_ids "$WORK/unlisted" > "$WORK/unlisted.txt"
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

screen() { # label, extra args...
  local label=$1; shift
  local log="$WORK/$label.log"
  /usr/bin/time -v "$BIN/credgate" screen "$LIST" --scenario procurement --out "$WORK/$label.csv" "$@" 2> "$log" || true
  local summary rss
  summary=$(grep '^credgate screen:' "$log" || tail -3 "$log")
  rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$log")
  printf '%-16s %s; peak RSS %s MiB\n' "$label" "$summary" "$((rss / 1024))"
}

echo "snapshot: $RECORDS records; list: $IDS identifiers ($LIST)"
screen offline --index "$WORK/snap"
screen offline-sorted --index "$WORK/snap" --sort-ids

if "$BIN/credgate" serve --help > /dev/null 2>&1; then
  PORT=${PORT:-18088}
  "$BIN/credgate" serve --index "$WORK/snap" --listen "127.0.0.1:$PORT" > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  trap 'kill "$SERVER" 2> /dev/null || true' EXIT
  for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1 && break
    sleep 0.1
  done
  screen http --server "http://127.0.0.1:$PORT"
else
  echo "http: skipped (this build has no 'credgate serve')"
fi
