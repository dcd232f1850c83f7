#!/usr/bin/env bash
# Browser test of the counter page: starts `credgate serve --demo` on a free port, drives
# Debian's headless Chromium through it with playwright-core (tests/browser/counter.mjs) and
# saves screenshots to target/browser-screenshots/. Exits non-zero when anything fails.
#
# What is missing is installed: chromium, curl and node/npm with apt (as root, as in CI), and
# playwright-core (the version pinned in tests/browser/package.json) with npm into
# target/browser-test/, so nothing is written into the source tree. Playwright's own browser
# downloads are never used. The pinned version still runs on Node 18, the nodejs of Debian 12.
#
# Environment: CREDGATE_BIN=path uses that binary instead of building one;
# CREDGATE_PROFILE=release builds with --release (default: the debug build CI has already compiled).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work="$root/target/browser-test"
shots="$root/target/browser-screenshots"
mkdir -p "$work" "$shots"

echo "== browser test: prerequisites"
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v curl >/dev/null || missing+=(curl)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# Without a CJK font the screenshots show boxes instead of characters (the assertions read
# the DOM text and would still pass); WenQuanYi Micro Hei is small.
if ! command -v fc-list >/dev/null || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  missing+=(fonts-wqy-microhei)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing with apt: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null

version=$(node -p "require('$root/tests/browser/package.json').dependencies['playwright-core']")
installed=$(node -p "try { require('$work/node_modules/playwright-core/package.json').version } catch (_) { '' }")
if [ "$installed" != "$version" ]; then
  echo "installing playwright-core@$version into $work"
  # A package.json in the directory keeps npm from settling on some ancestor as the root.
  cp "$root/tests/browser/package.json" "$work/package.json"
  (cd "$work" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-audit --no-fund \
    --loglevel=error "playwright-core@$version")
fi
# The script runs from next to its node_modules so that `import "playwright-core"` resolves.
cp "$root/tests/browser/counter.mjs" "$root/tests/browser/maskcases.mjs" "$root/tests/browser/xlsx.mjs" "$work/"

echo "== browser test: credgate"
if [ -n "${CREDGATE_BIN:-}" ]; then
  bin=$CREDGATE_BIN
elif [ "${CREDGATE_PROFILE:-debug}" = release ]; then
  cargo build --release --locked --bin credgate
  bin="$root/target/release/credgate"
else
  cargo build --locked --bin credgate
  bin="$root/target/debug/credgate"
fi

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
base="http://127.0.0.1:$port"
log="$work/server.log"
# The sample's documented cases hold on 2026-11-28 (data/README.md); the page is asked for
# that day too, so the test does not depend on the calendar.
CREDGATE_TODAY=2026-11-28 NO_COLOR=1 "$bin" serve --demo --listen "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
# A second server with API keys, for the token field: one key that may check and search,
# one that may only search, and one that may check and search with people's numbers whole.
keyed_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
keyed_base="http://127.0.0.1:$keyed_port"
rm -f "$work/keys.toml"
token_check=$("$bin" keys new --name counter --scopes check,search --file "$work/keys.toml" 2>/dev/null)
token_search=$("$bin" keys new --name reader --scopes search --file "$work/keys.toml" 2>/dev/null)
token_full=$("$bin" keys new --name registrar --scopes check,search,personal_full --file "$work/keys.toml" 2>/dev/null)
CREDGATE_TODAY=2026-11-28 NO_COLOR=1 "$bin" serve --demo --listen "127.0.0.1:$keyed_port" \
  --keys "$work/keys.toml" >"$work/server-keyed.log" 2>&1 &
keyed=$!
stop() {
  for p in "$server" "$keyed"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p"
      wait "$p" || true
    fi
  done
}
trap stop EXIT

# Poll readiness until the demo snapshot is built and loaded (60 s at most).
deadline=$((SECONDS + 60))
until curl -sf "$base/readyz" >/dev/null && curl -sf "$keyed_base/readyz" >/dev/null; do
  if ! kill -0 "$server" 2>/dev/null || ! kill -0 "$keyed" 2>/dev/null; then
    echo "credgate exited before it was ready:" >&2
    cat "$log" "$work/server-keyed.log" >&2
    exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "credgate was not ready within 60 s:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "ready at $base"

echo "== browser test: counter.mjs"
start=$SECONDS
status=0
BASE_URL="$base" KEYED_URL="$keyed_base" TOKEN_CHECK="$token_check" TOKEN_SEARCH="$token_search" TOKEN_FULL="$token_full" \
  SCREENSHOTS="$shots" AS_OF=2026-11-28 node "$work/counter.mjs" || status=$?
echo "browser steps took $((SECONDS - start)) s; screenshots in $shots"
if [ $status -ne 0 ]; then
  echo "browser test FAILED; server log:" >&2
  tail -n 30 "$log" >&2
fi
exit $status
