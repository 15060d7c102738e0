#!/usr/bin/env python3
"""Generates reference.json: PyTorch's optimizers and schedulers on fixed tensors.

Run with Debian's python3-torch (1.13): python3 reference.py > reference.json
The Go tests in pkg/optim compare Lathe's implementations with these numbers.
LAMB and Lion are not in torch.optim: they are written here with torch ops
following You et al. 2020 (Algorithm 2) and lucidrains/lion-pytorch.
"""
import json
import math

import torch

torch.set_default_dtype(torch.float64)
STEPS = 6


def initial_params():
    p1 = torch.tensor([[0.5 - 0.13 * i + 0.07 * j for j in range(4)] for i in range(3)])
    p2 = torch.tensor([0.3 * math.sin(i + 1) for i in range(5)])
    return [p1.clone().requires_grad_(True), p2.clone().requires_grad_(True)]


def loss_fn(params, scale):
    """Σ 0.5·c·p² + d·p + 0.1·p³ with fixed c, d (scale makes gradients large, for clipping)."""
    total = 0
    for k, p in enumerate(params):
        n = p.numel()
        c = torch.linspace(0.5, 2.0, n).reshape(p.shape) * (k + 1)
        d = torch.linspace(-0.4, 0.3, n).reshape(p.shape) * scale
        total = total + (0.5 * c * p * p + d * p + 0.1 * p ** 3).sum()
    return total


class Lamb(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st["step"], st["m"], st["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                st["step"] += 1
                t = st["step"]
                st["m"].mul_(b1).add_(p.grad, alpha=1 - b1)
                st["v"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                m_hat = st["m"] / (1 - b1 ** t)
                v_hat = st["v"] / (1 - b2 ** t)
                r = m_hat / (v_hat.sqrt() + group["eps"]) + group["weight_decay"] * p
                pn, rn = p.norm(), r.norm()
                trust = pn / rn if pn > 0 and rn > 0 else 1.0
                p.add_(r, alpha=-group["lr"] * float(trust))


class Lion(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st["m"] = torch.zeros_like(p)
                p.mul_(1 - group["lr"] * group["weight_decay"])
                update = (st["m"] * b1 + p.grad * (1 - b1)).sign()
                p.add_(update, alpha=-group["lr"])
                st["m"].mul_(b2).add_(p.grad, alpha=1 - b2)


OPTIMIZERS = [
    ("sgd", dict(lr=0.1), {}),
    ("sgd momentum dampening", dict(lr=0.1, momentum=0.9, dampening=0.1), {}),
    ("sgd nesterov weight decay", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), {}),
    ("adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01), {}),
    ("rmsprop", dict(lr=0.01), {}),
    ("rmsprop centered momentum", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01), {}),
    ("adam", dict(lr=0.01, weight_decay=0.01), {}),
    ("adam amsgrad", dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True), {}),
    ("adamw", dict(lr=0.01, weight_decay=0.1), {}),
    ("lamb", dict(lr=0.01, weight_decay=0.01), {}),
    ("lion", dict(lr=0.001, weight_decay=0.1), {}),
    ("sgd clip norm", dict(lr=0.1), dict(clip_norm=1.0, scale=20)),
    ("sgd clip value", dict(lr=0.1), dict(clip_value=0.05, scale=20)),
]

CLASSES = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
           "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "lamb": Lamb, "lion": Lion}


def run_optimizer(name, kwargs, extra):
    params = initial_params()
    opt = CLASSES[name.split()[0]](params, **kwargs)
    trace = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss_fn(params, extra.get("scale", 1.0)).backward()
        if "clip_norm" in extra:
            torch.nn.utils.clip_grad_norm_(params, extra["clip_norm"])
        if "clip_value" in extra:
            torch.nn.utils.clip_grad_value_(params, extra["clip_value"])
        opt.step()
        trace.append([p.detach().flatten().tolist() for p in params])
    return trace


def schedule_rates(make, total=30, lr=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    rates = []
    for _ in range(total):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


S = torch.optim.lr_scheduler
SCHEDULES = [
    ("step", dict(name="step", step_size=7, gamma=0.5), lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    ("exponential", dict(name="exponential", gamma=0.9), lambda o: S.ExponentialLR(o, gamma=0.9)),
    ("cosine", dict(name="cosine", min_learning_rate=0.001), lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.001)),
    ("cosine warmup", dict(name="cosine", warmup_steps=5),
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=1 / 5, total_iters=5), S.CosineAnnealingLR(o, T_max=25)], milestones=[5])),
    ("onecycle", dict(name="onecycle", max_learning_rate=0.5),
     lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=30, cycle_momentum=False)),
]

out = {
    "steps": STEPS,
    "initial": [p.detach().flatten().tolist() for p in initial_params()],
    "optimizers": [dict(case=c, kwargs=k, extra=e, params=run_optimizer(c, k, e)) for c, k, e in OPTIMIZERS],
    "schedules": [dict(case=c, config=cfg, total_steps=30, learning_rate=0.1, rates=schedule_rates(m)) for c, cfg, m in SCHEDULES],
    "torch_version": torch.__version__,
}
print(json.dumps(out, indent=1))
