#!/usr/bin/env python3
"""PyTorch reference for `lathe bench train --torch` (CPU) and
scripts/gpu-bench.sh (CUDA): one Adam train step of the models `lathe bench
train` times, on random data, printed as one JSON line:

    python3 scripts/torch-train-ref.py --model lenet5 --batch 128 --threads 2
    python3 scripts/torch-train-ref.py --model resnet18 --input 32x32x3 --batch 128 \
        --precision bf16 --steps 50 --device cuda

On a CPU run with Debian's python3-torch and libopenblas0-pthread (without
OpenBLAS, torch 1.13 from Debian multiplies with netlib's reference BLAS).

The models follow pkg/models (layers.go): MLP with ReLU, LeNet-5 (5x5 convs,
2x2 max-pool), CIFAR ResNet-8/20 (16/32/64 channels) and ResNet-18 with a 3x3
stem and no max-pool. They are defined here because torchvision may be
missing on the GPU machines. bf16 is autocast (bf16 compute, f32 weights), as
Lathe's bf16 keeps f32 master weights. The time is the median of --steps
steps after warm-up, each step synchronized, so it is comparable with
Lathe's ms/step.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride)
        self.b = conv_bn(cout, cout, 3, 1)
        self.shortcut = conv_bn(cin, cout, 1, stride) if stride != 1 else nn.Identity()

    def forward(self, x):
        return F.relu(self.b(F.relu(self.a(x))) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, cin, widths, blocks, classes):
        super().__init__()
        self.stem = conv_bn(cin, widths[0], 3, 1)
        layers, c = [], widths[0]
        for stage, w in enumerate(widths):
            for b in range(blocks):
                layers.append(Block(c, w, 2 if stage > 0 and b == 0 else 1))
                c = w
        self.body = nn.Sequential(*layers)
        self.logits = nn.Linear(c, classes)

    def forward(self, x):
        x = self.body(F.relu(self.stem(x)))
        return self.logits(x.mean(dim=(2, 3)))


class LeNet5(nn.Module):
    def __init__(self, cin, hw, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        side = (hw // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.logits = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.logits(F.relu(self.fc2(x)))


def mlp(inputs, hidden, classes):
    layers, c = [nn.Flatten()], inputs
    for h in hidden:
        layers += [nn.Linear(c, h), nn.ReLU()]
        c = h
    return nn.Sequential(*layers, nn.Linear(c, classes))


def build(args, shape):
    h, w, c = shape if len(shape) == 3 else (1, 1, shape[0])
    if args.model == "mlp":
        return mlp(h * w * c, [int(x) for x in args.hidden.split(",")], args.classes)
    if args.model == "lenet5":
        return LeNet5(c, h, args.classes)
    if args.model in ("resnet8", "resnet20"):
        return ResNet(c, [16, 32, 64], 1 if args.model == "resnet8" else 3, args.classes)
    if args.model == "resnet18":
        return ResNet(c, [64, 128, 256, 512], 2, args.classes)
    raise SystemExit(f"unknown model {args.model!r}")


def blas():
    """The BLAS library torch loaded (Debian's torch calls whichever
    libblas.so.3 the system's alternatives point at)."""
    torch.ones(8, 8) @ torch.ones(8, 8)
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    for name in ("openblas", "mkl", "blis", "atlas"):
        if name in maps:
            return name
    return "reference BLAS" if "libblas" in maps else "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="mlp")
    p.add_argument("--hidden", default="256,256,256")
    p.add_argument("--input", default="28x28x1", help="HxWxC or a feature count")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--precision", default="f32", choices=["f32", "bf16"])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--tf32", action="store_true", help="allow TF32 matmuls in f32 (off: f32 means f32)")
    args = p.parse_args()

    dev = torch.device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    shape = [int(x) for x in args.input.split("x")]
    model = build(args, shape).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    nchw = [args.batch] + ([shape[2], shape[0], shape[1]] if len(shape) == 3 else shape)
    x = torch.rand(nchw, device=dev)
    y = torch.randint(0, args.classes, (args.batch,), device=dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - t0
    for _ in range(args.warmup):
        step()
    sync()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({
        "engine": "torch " + torch.__version__, "device": str(dev), "model": args.model,
        "precision": args.precision, "batch": args.batch, "steps": args.steps,
        "ms_per_step": statistics.median(times), "first_step_s": first,
        "threads": torch.get_num_threads(), "blas": blas(),
    }))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the bench table, not a traceback
        print(f"torch-train-ref: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        sys.exit(1)
