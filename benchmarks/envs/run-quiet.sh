#!/usr/bin/env bash
# Run the env benchmark (benchmarks/envs/run.ts) when the machine is quiet (1-minute load average below $MAX_LOAD, default 0.6),
# so that other processes do not distort single-thread and two-worker numbers. Writes
# benchmarks/envs/results.json and results.txt (the table), and records the load averages around the run.
# Usage: benchmarks/envs/run-quiet.sh [extra flags of benchmarks/envs/run.ts]
set -euo pipefail
cd "$(dirname "$0")/../.."
max="${MAX_LOAD:-0.6}"
for _ in $(seq 1 240); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  if awk -v l="$load" -v m="$max" 'BEGIN { exit !(l < m) }'; then break; fi
  sleep 15
done
before=$(cat /proc/loadavg)
npx tsc -p tsconfig.json
npx tsx benchmarks/envs/run.ts --json "$@" > benchmarks/envs/results.json
after=$(cat /proc/loadavg)
{
  echo "loadavg before: $before"
  echo "loadavg after:  $after"
  echo "node $(node --version), $(nproc) cpus, $(date -u +%Y-%m-%dT%H:%MZ)"
} > benchmarks/envs/results.txt
node -e '
const rows = JSON.parse(require("fs").readFileSync("benchmarks/envs/results.json", "utf8"))
const f = (x) => (x === null ? "-" : String(Math.round(x)))
const lines = ["| env | steps/s (1 thread) | 1 worker | 2 workers | native steps/s | wasm/native |", "|---|---:|---:|---:|---:|---:|"]
for (const r of rows) lines.push(`| ${r.env} | ${f(r.stepsPerSec)} | ${f(r.workers["1"])} | ${f(r.workers["2"])} | ${f(r.nativeStepsPerSec)} | ${r.ratio === null ? "-" : r.ratio.toFixed(2)} |`)
require("fs").appendFileSync("benchmarks/envs/results.txt", lines.join("\n") + "\n")
'
cat benchmarks/envs/results.txt
