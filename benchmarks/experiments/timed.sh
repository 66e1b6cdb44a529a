# Sourced by the experiment scripts: `timed <command...>` runs a command, printing a header, and appends
# its exit code and wall time to runs/experiments/wall-times.txt; `tmaml` is this checkout's CLI.
mkdir -p runs/experiments
timed() {
  local start=$(date +%s)
  echo "=== $(date -u +%FT%TZ) $*"
  "$@"
  local code=$?
  local wall=$(( $(date +%s) - start ))
  echo "$(date -u +%FT%TZ) exit $code wall ${wall}s: $*" | tee -a runs/experiments/wall-times.txt
}
tmaml() { node bin/tmaml.js "$@"; }
