"""PyTorch reference for the autodiff benchmark (benchmarks/autodiff/workload.ts).

Computes the same MAML meta-gradient, meta-KL Hessian-vector product and 10 conjugate-gradient
iterations on the same data (written by benchmarks/autodiff/run.ts), in float32 on one thread, in
two formulations:
  per-task  a Python loop over tasks, as the ProMP/TMAML reference implementations do;
  batched   one [tasks, N, .] computation with per-task parameter copies (expand + bmm).
Prints one JSON object: median milliseconds per computation and formulation, and the results
(flattened in sorted parameter-name order) for the agreement check.

Usage: python3 maml_torch.py DATA.json [--reps N] [--cg-reps N]
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch

LOG_2PI = math.log(2.0 * math.pi)


def load(path):
    with open(path) as f:
        meta = json.load(f)
    blob = np.fromfile(os.path.join(os.path.dirname(path), meta["bin"]), dtype="<f4")

    def arr(ref):
        a = blob[ref["offset"] : ref["offset"] + int(np.prod(ref["shape"]))]
        return torch.from_numpy(a.copy()).reshape(ref["shape"])

    params = {k: arr(v) for k, v in meta["params"].items()}
    direction = {k: arr(v) for k, v in meta["direction"].items()}
    tasks = [{k: arr(v) for k, v in t.items()} for t in meta["tasks"]]
    return meta, params, direction, tasks


def layer_names(size):
    return len(size["hidden"]) + 1


def mlp_mean(size, p, obs):
    """obs [..., N, obs] with W [..., in, out], b [..., 1, out] (batched) or [in, out], [out]."""
    h = obs
    n = layer_names(size)
    for l in range(n):
        z = torch.matmul(h, p[f"W{l}"]) + p[f"b{l}"]
        h = torch.tanh(z) if l < n - 1 else z
    return h


def log_prob(mean, log_std, x):
    d = mean.shape[-1]
    z = (x - mean) / torch.exp(log_std)
    per_dim = 0.5 * z * z + log_std
    return -per_dim.sum(-1) - 0.5 * d * LOG_2PI


def kl(m1, ls1, m2, ls2):
    var1 = torch.exp(2 * ls1)
    var2 = torch.exp(2 * ls2)
    num = var1 + (m1 - m2) ** 2
    return ((ls2 - ls1) + num / (2 * var2) - 0.5).sum(-1)


def magic_box(x):
    return torch.exp(x - x.detach())


class Workload:
    def __init__(self, meta, params, direction, tasks):
        self.size = meta["size"]
        self.alpha = float(self.size["alpha"])
        self.keys = sorted(params.keys())
        self.params = {k: params[k].clone().requires_grad_(True) for k in params}
        self.direction = direction
        self.tasks = tasks
        T = len(tasks)
        self.stacked = {k: torch.stack([t[k] for t in tasks]) for k in tasks[0]}
        self.T = T

    # -- per-task ------------------------------------------------------------------------------
    def adapted_per_task(self, p):
        out = []
        names = list(p.keys())
        for t in self.tasks:
            m = mlp_mean(self.size, p, t["preObs"])
            j = torch.mean(magic_box(log_prob(m, p["logStd"], t["preAct"])) * t["preAdv"])
            g = torch.autograd.grad(j, [p[k] for k in names], create_graph=True)
            out.append({k: p[k] + self.alpha * gk for k, gk in zip(names, g)})
        return out

    # -- batched -------------------------------------------------------------------------------
    def tiled(self, p):
        out = {}
        for k, v in p.items():
            m = v.reshape(1, 1, v.shape[0]) if v.dim() == 1 else v.unsqueeze(0)
            out[k] = m.expand(self.T, *m.shape[1:])
        return out

    def adapted_batched(self, p):
        s = self.stacked
        th = self.tiled(p)
        names = list(th.keys())
        m = mlp_mean(self.size, th, s["preObs"])
        j = torch.mean(magic_box(log_prob(m, th["logStd"], s["preAct"])) * s["preAdv"], 1).sum()
        g = torch.autograd.grad(j, [th[k] for k in names], create_graph=True)
        return {k: th[k] + self.alpha * gk for k, gk in zip(names, g)}

    # -- objectives ----------------------------------------------------------------------------
    def outer(self, formulation):
        p = self.params
        if formulation == "batched":
            s = self.stacked
            a = self.adapted_batched(p)
            lp = log_prob(mlp_mean(self.size, a, s["postObs"]), a["logStd"], s["postAct"])
            return torch.mean(torch.exp(lp - s["postLogpOld"]) * s["postAdv"])
        adapted = self.adapted_per_task(p)
        per_task = []
        for t, a in zip(self.tasks, adapted):
            lp = log_prob(mlp_mean(self.size, a, t["postObs"]), a["logStd"], t["postAct"])
            per_task.append(torch.mean(torch.exp(lp - t["postLogpOld"]) * t["postAdv"]))
        return torch.stack(per_task).sum() / len(self.tasks)

    def meta_kl(self, formulation):
        p = self.params
        if formulation == "batched":
            a = self.adapted_batched(p)
            m = mlp_mean(self.size, a, self.stacked["postObs"])
            ls = a["logStd"]
            return torch.mean(kl(m.detach(), ls.detach(), m, ls))
        adapted = self.adapted_per_task(p)
        per_task = []
        for t, a in zip(self.tasks, adapted):
            m = mlp_mean(self.size, a, t["postObs"])
            ls = a["logStd"]
            per_task.append(torch.mean(kl(m.detach(), ls.detach(), m, ls)))
        return torch.stack(per_task).sum() / len(self.tasks)

    def meta_gradient(self, formulation):
        g = torch.autograd.grad(self.outer(formulation), [self.params[k] for k in self.keys])
        return dict(zip(self.keys, g))

    def hvp(self, formulation, v):
        ps = [self.params[k] for k in self.keys]
        g = torch.autograd.grad(self.meta_kl(formulation), ps, create_graph=True)
        dot = sum((gk * v[k]).sum() for gk, k in zip(g, self.keys))
        h = torch.autograd.grad(dot, ps)
        return dict(zip(self.keys, h))

    def cg(self, formulation, iters, damping):
        b = self.direction
        x = {k: torch.zeros_like(b[k]) for k in self.keys}
        r = {k: b[k].clone() for k in self.keys}
        p = {k: b[k].clone() for k in self.keys}
        dot = lambda a, c: float(sum((a[k] * c[k]).sum() for k in self.keys))
        rr = dot(r, r)
        for _ in range(iters):
            hp = self.hvp(formulation, p)
            ap = {k: hp[k] + damping * p[k] for k in self.keys}
            alpha = rr / dot(p, ap)
            x = {k: x[k] + alpha * p[k] for k in self.keys}
            r = {k: r[k] - alpha * ap[k] for k in self.keys}
            rr_next = dot(r, r)
            beta = rr_next / rr
            rr = rr_next
            p = {k: r[k] + beta * p[k] for k in self.keys}
        return x


def flat(d, keys):
    return torch.cat([d[k].detach().reshape(-1) for k in keys]).tolist()


def median_ms(reps, f):
    f()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--cg-reps", type=int, default=2)
    ap.add_argument("--formulations", default="per-task,batched")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    meta, params, direction, tasks = load(args.data)
    w = Workload(meta, params, direction, tasks)
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0] if "BLAS_INFO=" in torch.__config__.show() else "?",
        "results": {},
    }
    iters, damping = int(meta["cg"]["iterations"]), float(meta["cg"]["damping"])
    for form in args.formulations.split(","):
        grad = w.meta_gradient(form)
        hvp = w.hvp(form, w.direction)
        cg = w.cg(form, iters, damping)
        g_ms = median_ms(args.reps, lambda: w.meta_gradient(form))
        h_ms = median_ms(args.reps, lambda: w.hvp(form, w.direction))
        c_ms = median_ms(args.cg_reps, lambda: w.cg(form, iters, damping))
        out["results"][form] = {
            "metaGradMs": g_ms[0],
            "metaGradMinMs": g_ms[1],
            "hvpMs": h_ms[0],
            "hvpMinMs": h_ms[1],
            "cgMs": c_ms[0],
            "cgMinMs": c_ms[1],
            "metaGrad": flat(grad, w.keys),
            "hvp": flat(hvp, w.keys),
            "cg": flat(cg, w.keys),
        }
        print(f"torch {form}: meta-gradient {g_ms[0]:.0f} ms, HVP {h_ms[0]:.0f} ms, CG {c_ms[0]:.0f} ms", file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
