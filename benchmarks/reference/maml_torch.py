"""PyTorch reference for the autodiff benchmark (benchmarks/autodiff/).

Suite `workload` (benchmarks/autodiff/workload.ts): the same MAML meta-gradient, meta-KL
Hessian-vector product and 10 conjugate-gradient iterations on the same data, in two formulations:
  per-task  a Python loop over tasks, as the ProMP/TMAML reference implementations do;
  batched   one [tasks, N, .] computation with per-task parameter copies (expand + bmm).

Suite `pipeline` (benchmarks/autodiff/pipelineWorkload.ts): the training pipeline's meta-gradient
(VPG through the tmaml estimator's adaptation), TRPO step and PPO step, written here from the
definitions (src/pipelines/meta.ts, outer.ts), not translated from the tfjs code: raw episodes in,
advantages, behaviour log-probabilities, adaptation, objectives, CG and line search computed here.

Everything in float32 on one thread, on the data written by benchmarks/autodiff/run.ts. Prints one
JSON object: median milliseconds per computation, and the results (flattened in sorted
parameter-name order) for the agreement check.

Usage: python3 maml_torch.py DATA.json [--suite workload|pipeline] [--reps N] [--cg-reps N]
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


def read(path):
    """The JSON description and a reader of its float32 arrays ({offset, shape} references)."""
    with open(path) as f:
        meta = json.load(f)
    blob = np.fromfile(os.path.join(os.path.dirname(path), meta["bin"]), dtype="<f4")

    def arr(ref):
        a = blob[ref["offset"] : ref["offset"] + int(np.prod(ref["shape"]))]
        return torch.from_numpy(a.copy()).reshape(ref["shape"])

    return meta, arr


def load(meta, arr):
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


# -- the training pipeline (suite `pipeline`) ------------------------------------------------------


class Pipeline:
    """One meta-iteration of the pipeline: K tasks, E ragged episodes of horizon T per task."""

    def __init__(self, meta, arr, dtype=torch.float32):
        size, cfg = meta["size"], meta["cfg"]
        self.dt = dtype
        read = arr
        arr = lambda ref: read(ref).to(dtype)
        if int(cfg["innerSteps"]) != 1 or cfg["innerNormalize"] or float(cfg["trpo"].get("fisherSubsample", 1)) != 1:
            raise SystemExit(
                "maml_torch.py: the pipeline suite covers one inner step, no innerNormalize, trpo.fisherSubsample 1"
            )
        self.K, self.E, self.T = int(size["tasks"]), int(size["episodes"]), int(size["horizon"])
        self.layers = len(size["hidden"]) + 1
        self.alpha, self.gamma = float(cfg["innerLr"]), float(cfg["gamma"])
        self.outer_lr = float(cfg["outerLr"])
        self.trpo, self.ppo = cfg["trpo"], cfg["ppo"]
        self.normalize = bool(cfg["normalizeAdvantages"])
        self.keys = sorted(meta["theta"].keys())
        self.theta = {k: arr(v) for k, v in meta["theta"].items()}
        K, E, T = self.K, self.E, self.T

        def phase(name):
            tasks = meta[name]
            get = lambda k: torch.stack([arr(t[k]) for t in tasks])
            return {
                "obs": get("obs").reshape(K, E * T, -1),
                "act": get("actions").reshape(K, E * T, -1),
                "rew": get("rewards").reshape(K, E, T),
                "mask": get("mask").reshape(K, E, T),
                "base": get("baseline").reshape(K, E, T),
            }

        self.pre, self.post = phase("pre"), phase("post")
        self.disc = torch.tensor([self.gamma**t for t in range(T)], dtype=dtype)
        # The pre-update episodes were drawn with theta: their behaviour log-probabilities.
        with torch.no_grad():
            self.behaviour = self.log_prob(self.tiled(self.theta), self.pre).reshape(K, E, T)
        self.adv = self.advantages(self.post)
        self.post_mask = self.post["mask"].reshape(K, E * T)
        self.pre_mask = self.pre["mask"].reshape(K, E * T)

    # policy: W [K, in, out], b [K, out], logStd [K, act] (tiled) or the untiled shapes
    def mean(self, p, obs):
        h = obs
        for l in range(self.layers):
            b = p[f"b{l}"]
            z = torch.matmul(h, p[f"W{l}"]) + (b.unsqueeze(-2) if b.dim() == 2 else b)
            h = torch.tanh(z) if l < self.layers - 1 else z
        return h

    def log_std(self, p):
        ls = p["logStd"]
        return ls.unsqueeze(-2) if ls.dim() == 2 else ls

    def log_prob(self, p, ph):
        m = self.mean(p, ph["obs"])
        z = (ph["act"] - m) / torch.exp(self.log_std(p))
        return (-(0.5 * z * z + self.log_std(p)) - 0.5 * LOG_2PI).sum(-1)

    def tiled(self, p):
        return {k: v.unsqueeze(0).expand(self.K, *v.shape) for k, v in p.items()}

    def tmaml(self, p, ph, behaviour):
        """Sum over all trajectories of box(A_t) r_t + (1 - box(l_t)) b_t - (1 - box(A_<t))(1 - box(l_t)) b_t."""
        lp = self.log_prob(p, ph).reshape(self.K, self.E, self.T)
        m = ph["mask"]
        own = (lp - (lp.detach() if behaviour is None else behaviour)) * m
        prefix = torch.cumsum(own, -1)
        before = prefix - own
        r = ph["rew"] * m * self.disc
        b = ph["base"] * m * self.disc
        e_own = torch.exp(own)
        return (torch.exp(prefix) * r + (1 - e_own) * b - (1 - torch.exp(before)) * (1 - e_own) * b).sum()

    def adapt(self, theta):
        return self.adapt_tiled(self.tiled(theta))

    def adapt_tiled(self, th):
        j = self.tmaml(th, self.pre, self.behaviour)
        g = torch.autograd.grad(j, [th[k] for k in self.keys], create_graph=True)
        step = self.alpha / (self.E * self.T)
        return {k: th[k] + step * gk for k, gk in zip(self.keys, g)}

    def advantages(self, ph):
        """Returns-to-go minus the baseline, standardised per task over its valid steps."""
        rew, mask, base = ph["rew"].double(), ph["mask"].double(), ph["base"].double()
        R = torch.zeros_like(rew)
        acc = torch.zeros_like(rew[..., 0])
        for t in range(self.T - 1, -1, -1):
            acc = mask[..., t] * (rew[..., t] + self.gamma * acc)
            R[..., t] = acc
        A = ((R.to(self.dt) - ph["base"]) * ph["mask"]).double().reshape(self.K, -1)
        if self.normalize:
            m = mask.reshape(self.K, -1)
            n = m.sum(1, keepdim=True).clamp(min=1)
            mu = (A * m).sum(1, keepdim=True) / n
            std = torch.sqrt((((A - mu) * m) ** 2).sum(1, keepdim=True) / n) + 1e-8
            A = torch.where(m > 0, (A - mu) / std, torch.zeros_like(A))
        return A.to(self.dt)

    @staticmethod
    def over_tasks(x, mask):
        return ((x * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()

    @staticmethod
    def kl(m1, ls1, m2, ls2):
        return ((ls2 - ls1) + (torch.exp(2 * ls1) + (m1 - m2) ** 2) / (2 * torch.exp(2 * ls2)) - 0.5).sum(-1)

    def old(self, theta_old):
        a = {k: v.detach() for k, v in self.adapt(theta_old).items()}
        with torch.no_grad():
            mean = self.mean(a, self.post["obs"])
            ls = self.log_std(a)
            return {"mean": mean, "ls": ls, "logp": self.log_prob(a, self.post)}

    def ratio_and_kl(self, theta, old):
        a = self.adapt(theta)
        mean, ls = self.mean(a, self.post["obs"]), self.log_std(a)
        z = (self.post["act"] - mean) / torch.exp(ls)
        lp = (-(0.5 * z * z + ls) - 0.5 * LOG_2PI).sum(-1)
        return torch.exp(lp - old["logp"]), self.kl(old["mean"], old["ls"], mean, ls)

    def vpg(self, theta):
        return self.tmaml(self.adapt(theta), self.post, None) / (self.E * self.T * self.K)

    def leaf(self, flat_or_dict):
        return {k: v.detach().clone().requires_grad_(True) for k, v in flat_or_dict.items()}

    def flat(self, d):
        return torch.cat([d[k].reshape(-1) for k in self.keys])

    def unflat(self, x):
        out, o = {}, 0
        for k in self.keys:
            n = self.theta[k].numel()
            out[k] = x[o : o + n].reshape(self.theta[k].shape)
            o += n
        return out

    # -- the three computations ----------------------------------------------------------------
    def meta_gradient(self):
        th = self.leaf(self.theta)
        g = torch.autograd.grad(self.vpg(th), [th[k] for k in self.keys])
        return torch.cat([x.reshape(-1) for x in g]), {}

    def trpo_step(self):
        c = self.trpo
        th = self.leaf(self.theta)
        old = self.old(th)
        ps = [th[k] for k in self.keys]
        r0, _ = self.ratio_and_kl(th, old)
        L0 = self.over_tasks(r0 * self.adv, self.post_mask)
        g = torch.cat([x.reshape(-1) for x in torch.autograd.grad(L0, ps)])
        L0 = float(L0)
        dot = lambda a, b: float((a.double() * b.double()).sum())

        # The meta-KL's Hessian at theta_old as J^T F J, as the pipeline forms it (src/pipelines/meta.ts,
        # metaKlHessianProduct): J v by a backward pass through the adaptation (one inner step, so J
        # is symmetric), F by a double backward through the policy at the old adapted parameters,
        # then J^T. Equal to the double backward of the KL at theta_old.
        phi_old = {k: t.detach() for k, t in self.adapt(th).items()}

        def fvp(v):
            vs = self.unflat(v)
            tt = self.tiled(th)
            a = self.adapt_tiled(tt)
            jv = torch.autograd.grad(sum((a[k] * vs[k].unsqueeze(0)).sum() for k in self.keys), [tt[k] for k in self.keys])
            phi = {k: t.clone().requires_grad_(True) for k, t in phi_old.items()}
            mean, ls = self.mean(phi, self.post["obs"]), self.log_std(phi)
            kl = self.over_tasks(self.kl(old["mean"], old["ls"], mean, ls), self.post_mask)
            gk = torch.autograd.grad(kl, [phi[k] for k in self.keys], create_graph=True)
            fjv = torch.autograd.grad(sum((gi * ji).sum() for gi, ji in zip(gk, jv)), [phi[k] for k in self.keys])
            a = self.adapt(th)
            h = torch.autograd.grad(sum((a[k] * f).sum() for k, f in zip(self.keys, fjv)), ps)
            return torch.cat([x.reshape(-1) for x in h]) + float(c["damping"]) * v

        x, r, d = torch.zeros_like(g), g.clone(), g.clone()
        rr = dot(r, r)
        for _ in range(int(c["cgIters"])):
            if not rr > 1e-10:
                break
            Fd = fvp(d)
            a = rr / max(dot(d, Fd), 1e-30)
            x, r = x + a * d, r - a * Fd
            rr_new = dot(r, r)
            d = r + (rr_new / rr) * d
            rr = rr_new
        xFx = dot(x, g) - dot(x, r)
        step = x * math.sqrt(2 * float(c["maxKl"]) / xFx)
        base = self.flat(self.theta)
        for i in range(int(c["lineSearchSteps"])):
            frac = float(c["backtrack"]) ** i
            cand = self.leaf(self.unflat(base + frac * step))
            rt, kl = self.ratio_and_kl(cand, old)
            Li = float(self.over_tasks(rt * self.adv, self.post_mask))
            Ki = float(self.over_tasks(kl, self.post_mask))
            if math.isfinite(Li) and math.isfinite(Ki) and Li > L0 and Ki <= float(c["maxKl"]):
                return frac * step, {"lineSearch": i, "kl": Ki, "improvement": Li - L0}
        return torch.zeros_like(step), {"lineSearch": int(c["lineSearchSteps"])}

    def ppo_step(self):
        c = self.ppo
        clip, pen = float(c["clip"]), float(c["innerKlPenalty"])
        theta_old = {k: v.detach() for k, v in self.theta.items()}
        old = self.old(self.leaf(self.theta))
        b1, b2, eps = 0.9, 0.999, 1e-8
        x = self.flat(self.theta).detach().clone()
        m, v = torch.zeros_like(x), torch.zeros_like(x)
        obs_pre = self.pre["obs"]
        old_pre_mean, old_pre_ls = self.mean(theta_old, obs_pre), self.log_std(theta_old)
        for s in range(int(c["steps"])):
            th = self.leaf(self.unflat(x))
            r, _ = self.ratio_and_kl(th, old)
            A = self.adv
            clipped = self.over_tasks(torch.minimum(r * A, torch.clamp(r, 1 - clip, 1 + clip) * A), self.post_mask)
            inner_kl = self.over_tasks(
                self.kl(old_pre_mean, old_pre_ls, self.mean(th, obs_pre), self.log_std(th)), self.pre_mask
            )
            obj = clipped - pen * inner_kl
            g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(obj, [th[k] for k in self.keys])])
            gd = -g  # Adam descends on the negated gradient
            step = s + 1
            m = b1 * m + (1 - b1) * gd
            v = b2 * v + (1 - b2) * gd * gd
            x = x - self.outer_lr * (m / (1 - b1**step)) / (torch.sqrt(v / (1 - b2**step)) + eps)
        # The step's diagnostics, as outer.ts reports them (the adaptation needs autograd: no no_grad).
        r, kl = self.ratio_and_kl(self.leaf(self.unflat(x)), old)
        r = r.detach()
        stats = {
            "kl": float(self.over_tasks(kl, self.post_mask)),
            "clipFraction": float(
                ((r - 1).abs() > clip).to(self.dt).mul(self.post_mask).sum() / self.post_mask.sum().clamp(min=1)
            ),
        }
        return x - self.flat(self.theta), stats


def run_pipeline(meta, arr, reps):
    """Time each computation in float32; also compute it once in float64, the reference both float32
    results (torch's and the caller's) are measured against: TRPO's step amplifies rounding (CG on a
    system damped by only 1e-5), so agreement is judged against float32's own error there."""
    w, w64 = Pipeline(meta, arr), Pipeline(meta, arr, torch.float64)
    methods = {"metaGradient": "meta_gradient", "trpoStep": "trpo_step", "ppoStep": "ppo_step"}
    out = {}
    for name, method in methods.items():
        f = getattr(w, method)
        result, stats = f()
        exact, exact_stats = getattr(w64, method)()
        ms = median_ms(reps, f)
        out[name] = {
            "ms": ms[0],
            "minMs": ms[1],
            "result": result.detach().reshape(-1).tolist(),
            "stats": stats,
            "float64": exact.detach().reshape(-1).tolist(),
            "float64Stats": exact_stats,
        }
        print(f"torch pipeline {name}: {ms[0]:.0f} ms", file=sys.stderr)
    return out


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
    ap.add_argument("--suite", default="workload", choices=["workload", "pipeline"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--cg-reps", type=int, default=2)
    ap.add_argument("--formulations", default="per-task,batched")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = torch.__config__.show()
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": config.split("BLAS_INFO=")[1].split(",")[0] if "BLAS_INFO=" in config else "?",
        "results": {},
    }
    meta, arr = read(args.data)
    if args.suite == "pipeline":
        out["results"] = run_pipeline(meta, arr, args.reps)
        json.dump(out, sys.stdout)
        return
    meta, params, direction, tasks = load(meta, arr)
    w = Workload(meta, params, direction, tasks)
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
