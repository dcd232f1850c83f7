# Sourced by the bench scripts, from the repository root: where the release binaries they run
# are, and the NO_BUILD switch.
#
# NO_BUILD=1 skips the release build and uses target/release (or $CARGO_TARGET_DIR/release) as
# it is: a script that builds with `release_build` then runs whatever binaries are there.
# Either way, `need_release` stops the script before any work when one it needs is missing.
#
#   release_build ARGS...   `cargo build --release ARGS...`, unless NO_BUILD is set
#   need_release PATH...    exits 1 naming each PATH (relative to $BIN) that is not an executable

# Where cargo puts release binaries: target/release, or under CARGO_TARGET_DIR when that is
# set (cargo reads a relative one from the directory it runs in, as this does).
BIN=$(realpath -m "${CARGO_TARGET_DIR:-target}/release")

release_build() {
  if [[ -z "${NO_BUILD:-}" ]]; then
    cargo build --release "$@"
  fi
}

need_release() {
  local missing=() path
  for path in "$@"; do
    [[ -x "$BIN/$path" ]] || missing+=("$BIN/$path")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ -n "${NO_BUILD:-}" ]]; then
    echo "$(basename "$0"): NO_BUILD is set but the release build lacks ${missing[*]}; run once without NO_BUILD to build them, or set CARGO_TARGET_DIR to a target directory that has them" >&2
  else
    echo "$(basename "$0"): the release build did not leave ${missing[*]}" >&2
  fi
  exit 1
}
