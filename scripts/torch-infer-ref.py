#!/usr/bin/python3
"""PyTorch's inference latency on the shapes of a Lathe model, for reference.

`lathe bench infer --torch` runs this script in the same session as its own
measurements and prints the ratio; it can also be run alone:

    /usr/bin/python3 scripts/torch-infer-ref.py --graph graph.json --batch 1,64 --threads 2

graph.json is a Lathe model's description (the "lathe.graph" metadata of an
exported file; `lathe bench infer` writes it). The same ops are built as a
torch.nn module in NCHW with random weights (timing does not depend on the
values), in eval mode under torch.inference_mode(), float32. One JSON line
per batch size: p50/p99 latency in ms and samples/s over interleaved timed
calls after warm-up.

Debian's python3-torch (1.13) is a reference, never a dependency of Lathe.
Say which BLAS it ran with: Debian's package alone links netlib's reference
BLAS; with libopenblas0-pthread installed it uses OpenBLAS (see DESIGN.md).
"""
import argparse
import json
import os
import sys
import time


def build(graph, torch):
    nn = torch.nn
    shapes = {"input": list(graph["input"]["shape"])}
    modules = nn.ModuleDict()
    acts = {
        "relu": nn.ReLU(), "gelu": nn.GELU(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(),
        "swish": nn.SiLU(), "leaky_relu": nn.LeakyReLU(0.3), "selu": nn.SELU(),
    }
    plan = []
    for op in graph["ops"]:
        kind, name, inputs = op["op"], op["name"], op["inputs"]
        x = shapes[inputs[0]]
        key = name.replace("/", "_")
        if kind == "conv2d":
            k, s = op["kernel"], op.get("stride", 1) or 1
            h, w, c = x
            out = graph_tensor_dims(graph, op["weights"])[3]
            if op["padding"] == "same":
                ho, wo = (h + s - 1) // s, (w + s - 1) // s
                pad = max((ho - 1) * s + k - h, 0)
                modules[key] = nn.Sequential(nn.ZeroPad2d((pad // 2, pad - pad // 2, pad // 2, pad - pad // 2)),
                                             nn.Conv2d(c, out, k, stride=s, bias=bool(op.get("bias"))))
            else:
                ho, wo = (h - k) // s + 1, (w - k) // s + 1
                modules[key] = nn.Conv2d(c, out, k, stride=s, bias=bool(op.get("bias")))
            shapes[name] = [ho, wo, out]
        elif kind == "dense":
            dims = graph_tensor_dims(graph, op["weights"])
            modules[key] = nn.Linear(dims[0], dims[1], bias=bool(op.get("bias")))
            shapes[name] = [dims[1]]
        elif kind == "max_pool":
            modules[key] = nn.MaxPool2d(op["window"])
            shapes[name] = [x[0] // op["window"], x[1] // op["window"], x[2]]
        elif kind == "global_avg_pool":
            modules[key] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            shapes[name] = [x[2]]
        elif kind == "flatten":
            modules[key] = nn.Flatten()
            n = 1
            for d in x:
                n *= d
            shapes[name] = [n]
        elif kind == "add":
            shapes[name] = x
        else:
            sys.exit("torch-infer-ref: unknown op %r" % kind)
        plan.append((kind, name, key, inputs, acts.get(op.get("activation") or "")))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = modules

        def forward(self, x):
            values = {"input": x}
            for kind, name, key, inputs, act in plan:
                if kind == "add":
                    y = values[inputs[0]] + values[inputs[1]]
                else:
                    y = self.layers[key](values[inputs[0]])
                values[name] = act(y) if act is not None else y
            return values[graph["output"]]

    return Net().eval()


def graph_tensor_dims(graph, name):
    return graph["tensor_shapes"][name]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graph", required=True)
    p.add_argument("--batch", default="1,64")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--min-seconds", type=float, default=2.0)
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    with open(args.graph) as f:
        graph = json.load(f)
    net = build(graph, torch)
    shape = graph["input"]["shape"]
    for batch in [int(b) for b in args.batch.split(",")]:
        if len(shape) == 3:
            x = torch.rand(batch, shape[2], shape[0], shape[1])
        else:
            x = torch.rand(batch, shape[0])
        times = []
        with torch.inference_mode():
            for _ in range(10):
                net(x)
            start = time.perf_counter()
            while len(times) < 50 or time.perf_counter() - start < args.min_seconds:
                t0 = time.perf_counter()
                net(x)
                times.append(time.perf_counter() - t0)
                if len(times) >= 100000:
                    break
        times.sort()
        p50 = times[len(times) // 2]
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(json.dumps({
            "engine": "pytorch %s (%s)" % (torch.__version__, blas(torch)), "batch": batch, "threads": args.threads,
            "p50_ms": p50 * 1e3, "p99_ms": p99 * 1e3, "samples_per_s": batch / p50, "calls": len(times),
        }))


def blas(torch):
    """Which BLAS (Debian's torch links the libblas.so.3 alternative) and
    whether oneDNN (MKL-DNN, used for convolutions) is on."""
    path = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    name = "OpenBLAS" if "openblas" in path else "reference BLAS" if "blas" in path else "unknown BLAS"
    if torch.backends.mkldnn.is_available():
        name += ", oneDNN"
    return name


if __name__ == "__main__":
    main()
