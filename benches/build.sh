#!/usr/bin/env bash
# Build bench: how fast `index-builder build` compiles synthetic sources, and how much memory
# it needs, at 1M and 10M records (and 100M with --with-100m).
#
# Usage:  benches/build.sh [--with-100m] [--records N | --sizes "1000000 10000000"]
#                          [--budget BYTES] [--work DIR] [--keep-data]
#
# --budget is passed to `index-builder build --memory-budget` (bytes, or 512MiB, 2GiB; the
# builder's default is 2GiB): peak RSS should stay near it whatever the size. On a machine
# with the disk (about 110 GB free, see below),
# `benches/build.sh --records 100000000 --budget 4GiB` is SPEC §9's 100M run.
#
# For each size it synthesises a source directory (`index-builder synth --records N --seed 7`,
# so every run sees the same data), runs `index-builder build` on it under /usr/bin/time -v,
# then `index-builder verify` on the result, and prints one table row:
#
#   records   the --records asked of synth (the snapshot's own record count is lower: synth
#             injects bad rows, and retention drops expired personal records)
#   wall_s    wall-clock seconds of the build
#   cpu_s     user + system CPU seconds of the build (compare this on a shared machine)
#   rec/s     records / wall_s
#   rss_mb    peak resident set size of the build, MiB
#   B/rec     bytes of the published generation directory / records
#   verify_s  wall-clock seconds of `index-builder verify` (reads every byte, checks everything)
#   runs      sorted runs the build spilled (0: everything fitted in the budget)
#   wr_gb     GB the disk under --work was written during the build, by its own counters
#             (/sys/class/block/DEV/stat, sectors written): spilled runs that reached the
#             disk and the snapshot; "-" when --work is on no block device (tmpfs)
#   disc_gb   GB discarded on that disk during the build (sectors discarded): on a file
#             system mounted with `discard`, what deleting spilled runs gave back. Unlike
#             wall_s these two do not depend on how busy a shared machine is, but they do
#             count any other process writing to the same disk at the time
#   load1     the 1-minute load average when the build ended (a shared machine skews wall_s)
#
# Needs only bash, coreutils, cargo and /usr/bin/time (GNU time); installs nothing. Generated
# data goes under --work (default: a fresh directory in ${TMPDIR:-/tmp}) and is deleted at
# the end unless --keep-data is given. Disk, measured on a 10M build at the default budget
# (2026-11-29): 3.0 GiB of source CSV (318 bytes a record), and a temporary generation
# directory that peaked at 7.0-7.2 GiB (6.4 GiB of spilled runs while the tables were being
# written) before it was published as the 3.1 GiB snapshot: about 1,100 bytes a record in
# all, so 100M records need about 110 GB free. Each size is checked against that before it
# starts, and a size that would not fit is refused with what it needs and what is free.
# NO_BUILD=1 skips the release build and uses target/release (or $CARGO_TARGET_DIR/release) as it is.
set -euo pipefail

sizes="1000000 10000000"
work=""
keep=0
budget=
while [ $# -gt 0 ]; do
    case "$1" in
        --with-100m) sizes="$sizes 100000000" ;;
        --sizes) sizes="$2"; shift ;;
        --records) sizes="$2"; shift ;;
        --budget) budget="$2"; shift ;;
        --work) work="$2"; shift ;;
        --keep-data) keep=1 ;;
        -h|--help) sed -n '2,43p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ ! -x /usr/bin/time ]; then
    echo "this bench needs GNU time at /usr/bin/time" >&2
    exit 1
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=support/release.sh
source benches/support/release.sh
release_build -p credgate-index --quiet
need_release index-builder
bin="$BIN/index-builder"

if [ -z "$work" ]; then
    work="$(mktemp -d "${TMPDIR:-/tmp}/credgate-build-bench.XXXXXX")"
fi
mkdir -p "$work"
cleanup() {
    if [ "$keep" = 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The block device under --work, for its counters (see wr_gb and disc_gb above).
dev="$(basename "$(df --output=source "$work" | tail -n 1)")"
devstat="/sys/class/block/$dev/stat"
if [ ! -r "$devstat" ]; then devstat=""; fi
echo "disk under $work: ${devstat:-no block device counters}"
sectors() {
    if [ -n "$devstat" ]; then awk '{print $7, $14}' "$devstat"; else echo "- -"; fi
}
budget_args=()
if [ -n "$budget" ]; then budget_args=(--memory-budget "$budget"); fi
echo "memory budget: ${budget:-builder default}"
rows=()
for n in $sizes; do
    src="$work/src-$n"
    out="$work/out-$n"
    rm -rf "$src" "$out"
    need=$((n * 1100))
    free=$(df --output=avail -B1 "$work" | tail -n 1 | tr -d ' ')
    if [ "$free" -lt "$need" ]; then
        echo "== $n records: not run: needs about $((need / 1000000000)) GB free in $work (source, spilled runs and snapshot), $((free / 1000000000)) GB are" >&2
        exit 1
    fi
    echo "== $n records: synth"
    "$bin" synth --out "$src" --records "$n" --seed 7 | tail -n 1
    echo "== $n records: build"
    timelog="$work/time-$n.txt"
    sync
    read -r wr0 disc0 < <(sectors)
    /usr/bin/time -v -o "$timelog" \
        "$bin" build --source "$src" --out "$out" --today 2026-11-28 "${budget_args[@]}" >"$work/build-$n.txt"
    read -r wr1 disc1 < <(sectors)
    load1=$(cut -d' ' -f1 /proc/loadavg)
    grep -E '^(snapshot|records|phases|memory|built)' "$work/build-$n.txt"
    runs=$(awk '/^memory budget/ {print $(NF-3)}' "$work/build-$n.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$timelog" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    user=$(awk -F': ' '/User time/ {print $2}' "$timelog")
    sys=$(awk -F': ' '/System time/ {print $2}' "$timelog")
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timelog")
    gen="$out/$(cat "$out/CURRENT")"
    bytes=$(du -sb "$gen" | cut -f1)
    echo "== $n records: verify"
    vstart=$(date +%s.%N)
    "$bin" verify "$out"
    vend=$(date +%s.%N)
    rows+=("$(awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss_kb" -v b="$bytes" \
        -v v0="$vstart" -v v1="$vend" -v runs="$runs" -v l="$load1" \
        -v wr0="$wr0" -v wr1="$wr1" -v d0="$disc0" -v d1="$disc1" 'BEGIN {
            if (wr0 == "-") { wr = "-"; disc = "-" }
            else { wr = sprintf("%.1f", (wr1 - wr0) * 512 / 1e9); disc = sprintf("%.1f", (d1 - d0) * 512 / 1e9) }
            printf "%10d %8.1f %8.1f %10.0f %8.0f %7.1f %9.1f %6d %6.2f %6s %7s", n, w, u + s, n / w, r / 1024, b / n, v1 - v0, runs, l, wr, disc }')")
    # The next size needs the disk more than this one's data.
    if [ "$keep" = 0 ]; then rm -rf "$src" "$out"; fi
done

echo
printf "%10s %8s %8s %10s %8s %7s %9s %6s %6s %6s %7s\n" records wall_s cpu_s rec/s rss_mb B/rec verify_s runs load1 wr_gb disc_gb
for r in "${rows[@]}"; do echo "$r"; done
