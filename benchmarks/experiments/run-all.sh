#!/usr/bin/env bash
# The experiments of docs/EXPERIMENTS.md, one after another (each command uses the machine's 2 cores),
# with the wall time of each appended to runs/experiments/wall-times.txt. Every command is resumable:
# re-running this script after a kill continues where each stopped and skips what is done.
#
#   nohup bash benchmarks/experiments/run-all.sh > runs/experiments/run-all.log 2>&1 &
set -u
cd "$(dirname "$0")/../.."
source benchmarks/experiments/timed.sh

timed tmaml experiment grad-accuracy --out runs/experiments/grad-accuracy --figure docs/figures/grad-accuracy
timed tmaml experiment compare --env halfcheetah-dir --estimators tmaml,maml,lvc,dice,tmaml-eq7,tmaml-reference \
  --seeds 3 --iterations 100 --tasks 10 --rollouts 10 --parallel 2 --smooth 10 \
  --out runs/experiments/compare-halfcheetah-dir --figure docs/figures/compare-halfcheetah-dir
timed tmaml experiment grad-variance --env halfcheetah-dir --iterations 100 --every 20 --draws 10 --tasks 10 --rollouts 10 \
  --out runs/experiments/grad-variance-halfcheetah-dir --figure docs/figures/grad-variance-halfcheetah-dir
timed tmaml experiment compare --env ant-dir --estimators tmaml,maml,lvc,dice \
  --seeds 3 --iterations 50 --tasks 10 --rollouts 10 --parallel 2 --smooth 5 \
  --out runs/experiments/compare-ant-dir --figure docs/figures/compare-ant-dir
timed tmaml experiment grad-variance --env ant-dir --iterations 50 --every 10 --draws 10 --tasks 10 --rollouts 10 \
  --out runs/experiments/grad-variance-ant-dir --figure docs/figures/grad-variance-ant-dir
