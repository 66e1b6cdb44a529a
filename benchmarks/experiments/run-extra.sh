#!/usr/bin/env bash
# Complements to run-all.sh (same conventions): the accuracy experiment at a larger inner step, where the
# Hessian term of the meta-gradient matters more, and a method comparison on point2d, a task distribution
# on which the scaled-down budget does show learning, with TMAML's per-task control variates (value networks,
# and the action-dependent one of Eq. 11) beside the meta-learned one.
set -u
cd "$(dirname "$0")/../.."
source benchmarks/experiments/timed.sh

# Second invocations of two run-all.sh commands that stopped on the tmaml-eq7 crash fixed in
# src/graph/kernels/unbroadcast.ts (each continues from its saved state).
timed tmaml experiment compare --env halfcheetah-dir --estimators tmaml,maml,lvc,dice,tmaml-eq7,tmaml-reference \
  --seeds 3 --iterations 100 --tasks 10 --rollouts 10 --parallel 2 --smooth 10 \
  --out runs/experiments/compare-halfcheetah-dir --figure docs/figures/compare-halfcheetah-dir
timed tmaml experiment grad-variance --env halfcheetah-dir --iterations 100 --every 20 --draws 10 --tasks 10 --rollouts 10 \
  --out runs/experiments/grad-variance-halfcheetah-dir --figure docs/figures/grad-variance-halfcheetah-dir

timed tmaml experiment grad-accuracy --inner-lr 1 --out runs/experiments/grad-accuracy-lr1 --figure docs/figures/grad-accuracy-lr1
timed tmaml experiment compare --env point2d \
  --estimators tmaml,maml,lvc,dice,tmaml-eq7,tmaml-reference,tmaml:value,tmaml:action-dependent \
  --seeds 3 --iterations 100 --tasks 10 --rollouts 10 --parallel 2 --smooth 5 \
  --out runs/experiments/compare-point2d --figure docs/figures/compare-point2d

# halfcheetah-dir at the quickstart batch (20 tasks x 20 episodes, half the published one), where tmaml
# is known to learn within 80 iterations (README, "Evidence of learning").
timed tmaml experiment compare --env halfcheetah-dir --estimators tmaml,maml,lvc,dice \
  --seeds 3 --iterations 80 --tasks 20 --rollouts 20 --parallel 2 --smooth 10 \
  --out runs/experiments/compare-halfcheetah-dir-20x20 --figure docs/figures/compare-halfcheetah-dir-20x20
