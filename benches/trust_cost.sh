#!/usr/bin/env bash
# What trust costs per check, in figures steadier than req/s on a shared machine (run by
# hand, not in CI): for each credgate binary given, an open server and a trusted one (keys,
# audit in batch durability, receipts) on the same snapshot, driven in turn by wrk rounds
# on /v1/check, interleaved so that every binary sees the same load. Per round and server:
#
#   req/s and p99 (wrk -t2 -c64, benches/support/check.lua),
#   server CPU per request (utime + stime from /proc/PID/stat over the round) and the
#   user-space part of it (utime),
#   context switches, system calls, futex calls and wake-ups per request (perf stat),
#   wrk's own CPU and context switches per request (perf stat over wrk: on two cores wrk
#   takes as much CPU as the server, and can spend more on a trusted server's answers),
#   and the share of the machine's CPU time left idle over the round (/proc/stat).
#
#   benches/trust_cost.sh /tmp/credgate-before target/release/credgate
#
# Environment: ROUNDS (3), DURATION (6, seconds), ROOT (the snapshot root, default the 1M
# bench snapshot of http_load.sh), IDS (one valid id a line, as http_load.sh writes it),
# PORT_BASE (19030; a port for each server), OPEN (1: also the open servers, the default; 0:
# trusted only), PARTS (0; 1: also a server with each part of trust alone, to show what each
# costs: `keys` (--keys), `audit` (--audit-dir) and `receipts` (--signing-key), open otherwise),
# DURABILITY (batch), HELLO (0; 1: also the bare hyper hello server of http_load.sh, as
# hyper's examples lay it out (`hello`) and laid out as credgate's connections are
# (`hello_w`), to set an open check's CPU beside the HTTP work alone; it answers every
# request with the same 17 bytes, its binary the `hello_server` example beside the first
# credgate binary's). Needs wrk, and perf for the per-request counts and wrk's own figures
# (without it they print as -). Quote the load average printed with every figure.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6}
DATA=${DATA:-target/bench-data}
ROOT=${ROOT:-$DATA/index-1000000-1}
IDS=${IDS:-$DATA/ids.txt}
PORT_BASE=${PORT_BASE:-19030}
OPEN=${OPEN:-1}
PARTS=${PARTS:-0}
DURABILITY=${DURABILITY:-batch}
BINS=("$@")
[[ ${#BINS[@]} -gt 0 ]] || BINS=("${CARGO_TARGET_DIR:-target}/release/credgate")
for b in "${BINS[@]}"; do
  [[ -x "$b" ]] || { echo "no credgate binary at $b (cargo build --release --bin credgate)" >&2; exit 1; }
done
[[ -f "$ROOT/CURRENT" ]] || { echo "no snapshot at $ROOT (set ROOT)" >&2; exit 1; }
[[ -s "$IDS" ]] || { echo "no ids at $IDS (run benches/http_load.sh once, or set IDS)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "missing wrk" >&2; exit 1; }
PERF=$(command -v perf || true)

WORK=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
TOKEN=$("${BINS[0]}" keys new --name bench --scopes check --file "$WORK/keys.toml" 2>/dev/null)

kinds=(trusted)
[[ $PARTS == 1 ]] && kinds=(keys audit receipts "${kinds[@]}")
[[ $OPEN == 1 ]] && kinds=(open "${kinds[@]}")
names=(); ports=(); port=$PORT_BASE
for i in "${!BINS[@]}"; do
  b=${BINS[$i]}
  for kind in "${kinds[@]}"; do
    name="$i:$(basename "$b")-$kind"
    args=(serve --index "$ROOT" --listen "127.0.0.1:$port")
    keys=(--keys "$WORK/keys.toml")
    audit=(--audit-dir "$WORK/audit-$i-$kind" --audit-durability "$DURABILITY")
    receipts=(--signing-key "$WORK/signing.key")
    case $kind in
      keys) args+=("${keys[@]}") ;;
      audit) args+=("${audit[@]}") ;;
      receipts) args+=("${receipts[@]}") ;;
      trusted) args+=("${keys[@]}" "${audit[@]}" "${receipts[@]}") ;;
    esac
    "$b" "${args[@]}" 2>"$WORK/server-$port.log" & pids+=($!)
    names+=("$name"); ports+=("$port"); port=$((port + 1))
  done
done
if [[ ${HELLO:-0} == 1 ]]; then
  hello_bin="$(dirname "${BINS[0]}")/examples/hello_server"
  [[ -x $hello_bin ]] || { echo "no hello server at $hello_bin (cargo build --release --example hello_server)" >&2; exit 1; }
  for kind in hello hello_w; do
    layout=(env -u HELLO_WORKERS)
    [[ $kind == hello_w ]] && layout=(env "HELLO_WORKERS=$(nproc)")
    "${layout[@]}" "$hello_bin" "127.0.0.1:$port" 2>"$WORK/server-$port.log" & pids+=($!)
    names+=("$kind"); ports+=("$port"); port=$((port + 1))
  done
fi
for i in "${!ports[@]}"; do
  path=/readyz; [[ ${names[$i]} == hello* ]] && path=/
  for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:${ports[$i]}$path" >/dev/null 2>&1 && break; sleep 0.1; done
done

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15, $14 }' "/proc/$1/stat"; }
printf '%-34s %8s %8s %9s %9s %7s %9s %7s %8s %9s %9s %5s %6s\n' server req/s p99_ms cpu_us/req usr_us/req \
  cs/req syscall/req futex/req wake/req wrk_us/req wrk_cs/req idle% load1
# The machine's busy and idle ticks so far (every CPU; steal left out of both).
cpu_times() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
for r in $(seq 1 "$ROUNDS"); do
  for i in "${!names[@]}"; do
    pid=${pids[$i]}; p=${ports[$i]}
    read -r c0 u0 < <(cpu_ticks "$pid")
    read -r busy0 idle0 < <(cpu_times)
    client=(wrk -t2 -c64 -d"${DURATION}s" -s benches/support/check.lua "http://127.0.0.1:$p" -- "$IDS" "$TOKEN")
    if [[ -n $PERF ]]; then
      "$PERF" stat -x, -e task-clock,context-switches -o "$WORK/wrk-perf.txt" -- "${client[@]}" \
        >"$WORK/wrk.txt" & w=$!
    else
      : >"$WORK/wrk-perf.txt"
      "${client[@]}" >"$WORK/wrk.txt" & w=$!
    fi
    # perf covers at most all but the last second of the round (it starts with it); under
    # load it attaches late (measured: 1.1–2.2 s of 5 at load 6–8), so its counts are
    # divided by the requests of the time it says each counter ran (req/s × run time).
    if [[ -n $PERF ]]; then
      "$PERF" stat -x, -e context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_futex,sched:sched_wakeup \
        -p "$pid" -- sleep $((DURATION - 1)) 2>"$WORK/perf.txt" >/dev/null || : >"$WORK/perf.txt"
    else
      : >"$WORK/perf.txt"
    fi
    wait "$w"
    read -r c1 u1 < <(cpu_ticks "$pid")
    read -r busy1 idle1 < <(cpu_times)
    read -r n rps p99 < <(awk '/^RESULT/ { print $2, $3, $5 }' "$WORK/wrk.txt")
    awk -F, -v n="$n" -v d="$DURATION" -v name="${names[$i]}" -v rps="$rps" -v p99="$p99" \
      -v cpu="$(( (c1 - c0) * 1000000 / ticks ))" -v usr="$(( (u1 - u0) * 1000000 / ticks ))" \
      -v load="$(cut -d' ' -f1 /proc/loadavg)" \
      -v idle="$(( (idle1 - idle0) * 100 / (busy1 - busy0 + idle1 - idle0 + 1) ))" \
      -v wrk_us="$(awk -F, '$3 == "task-clock" { print $1 * 1000 }' "$WORK/wrk-perf.txt")" \
      -v wrk_cs="$(awk -F, '$3 == "context-switches" { print $1 }' "$WORK/wrk-perf.txt")" '
      $1 ~ /^[0-9]/ { v[$3] = $1; t[$3] = $4 / 1e9 }
      function per(e) { return (e in v && t[e] > 0) ? sprintf("%.3f", v[e] / (rps * t[e])) : "-" }
      END {
        printf "%-34s %8s %8s %9.1f %9.1f %7s %9s %7s %8s %9s %9s %5s %6s\n", name, rps, p99, cpu / n, usr / n,
          per("context-switches"), per("raw_syscalls:sys_enter"), per("syscalls:sys_enter_futex"),
          per("sched:sched_wakeup"),
          wrk_us == "" ? "-" : sprintf("%.1f", wrk_us / n), wrk_cs == "" ? "-" : sprintf("%.3f", wrk_cs / n),
          idle, load
      }' "$WORK/perf.txt"
  done
done
