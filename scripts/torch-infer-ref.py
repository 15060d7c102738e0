#!/usr/bin/python3
"""PyTorch's inference latency on the shapes of a Lathe model, for reference.

`lathe bench infer --torch` runs this script in the same session as its own
measurements and prints the ratio; it can also be run alone:

    /usr/bin/python3 scripts/torch-infer-ref.py --graph graph.json --batch 1,64 --threads 2
    /usr/bin/python3 scripts/torch-infer-ref.py --graph graph.json --int8 --engine onednn

graph.json is a Lathe model's description (the "lathe.graph" metadata of an
exported file; `lathe bench infer` writes it). The same ops are built as a
torch.nn module in NCHW with random weights (timing does not depend on the
values), in eval mode under torch.inference_mode(), float32. One JSON line
per batch size: p50/p99 latency in ms and samples/s over timed calls after
warm-up; "quant" says what ran ("f32").

--int8 also builds the module's int8 version with torch.ao.quantization and
times both interleaved call by call (one line per batch size for each):
dynamic quantization (nn.Linear → qint8 weights, activations quantized per
call) when the graph has only dense and flatten ops, "int8 dynamic"; else
eager-mode static quantization, "int8 static": QuantStub/DeQuantStub around
the model, conv+relu and linear+relu fused, the engine's default qconfig
(fbgemm: histogram observer with reduce_range, weights per channel),
calibrated on a few random batches normalized as the model's input is. The
quantized engine is --engine; the default, auto, is the first of fbgemm,
onednn, qnnpack that this torch has (Debian's 1.13 build has no FBGEMM:
there it is onednn, the x86 engine that PyTorch 2 makes its default). An
engine this torch lacks is refused in one line naming those it has.

Debian's python3-torch (1.13) is a reference, never a dependency of Lathe.
Say which BLAS it ran with: Debian's package alone links netlib's reference
BLAS; with libopenblas0-pthread installed it uses OpenBLAS (see DESIGN.md).
"""
import argparse
import copy
import json
import os
import sys
import time


def build(graph, torch):
    """The graph as an nn.Module. Each op is one module (its padding, its
    conv or linear, its activation, in an nn.Sequential) so that static
    quantization can fuse a conv or linear with the ReLU after it; adds go
    through nn.quantized.FloatFunctional, which it turns into a quantized
    add (in float32 it is a plain add)."""
    nn = torch.nn
    shapes = {"input": list(graph["input"]["shape"])}
    modules = nn.ModuleDict()
    acts = {
        "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
        "swish": nn.SiLU, "leaky_relu": lambda: nn.LeakyReLU(0.3), "selu": nn.SELU,
    }
    plan = []
    for op in graph["ops"]:
        kind, name, inputs = op["op"], op["name"], op["inputs"]
        x = shapes[inputs[0]]
        key = name.replace("/", "_").replace(".", "_")
        parts = []
        if kind == "conv2d":
            k, s = op["kernel"], op.get("stride", 1) or 1
            h, w, c = x
            out = graph_tensor_dims(graph, op["weights"])[3]
            if op["padding"] == "same":
                ho, wo = (h + s - 1) // s, (w + s - 1) // s
                pad = max((ho - 1) * s + k - h, 0)
                if pad % 2 == 0:  # symmetric: the convolution pads itself (quantized too)
                    parts.append(nn.Conv2d(c, out, k, stride=s, padding=pad // 2, bias=bool(op.get("bias"))))
                else:
                    parts += [nn.ZeroPad2d((pad // 2, pad - pad // 2, pad // 2, pad - pad // 2)),
                              nn.Conv2d(c, out, k, stride=s, bias=bool(op.get("bias")))]
            else:
                ho, wo = (h - k) // s + 1, (w - k) // s + 1
                parts.append(nn.Conv2d(c, out, k, stride=s, bias=bool(op.get("bias"))))
            shapes[name] = [ho, wo, out]
        elif kind == "dense":
            dims = graph_tensor_dims(graph, op["weights"])
            parts.append(nn.Linear(dims[0], dims[1], bias=bool(op.get("bias"))))
            shapes[name] = [dims[1]]
        elif kind == "max_pool":
            parts.append(nn.MaxPool2d(op["window"]))
            shapes[name] = [x[0] // op["window"], x[1] // op["window"], x[2]]
        elif kind == "global_avg_pool":
            parts += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            shapes[name] = [x[2]]
        elif kind == "flatten":
            parts.append(nn.Flatten())
            n = 1
            for d in x:
                n *= d
            shapes[name] = [n]
        elif kind == "add":
            shapes[name] = x
        else:
            sys.exit("torch-infer-ref: unknown op %r" % kind)
        act = op.get("activation") or ""
        if act:
            if act not in acts:
                sys.exit("torch-infer-ref: unknown activation %r" % act)
            parts.append(acts[act]())
        if kind == "add":
            modules[key + "_add"] = nn.quantized.FloatFunctional()
        modules[key] = nn.Sequential(*parts)
        plan.append((kind, key, name, inputs))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = modules

        def forward(self, x):
            values = {"input": x}
            for kind, key, name, inputs in plan:
                if kind == "add":
                    x = self.layers[key + "_add"].add(values[inputs[0]], values[inputs[1]])
                else:
                    x = values[inputs[0]]
                values[name] = self.layers[key](x)
            return values[graph["output"]]

    return Net().eval()


def graph_tensor_dims(graph, name):
    return graph["tensor_shapes"][name]


def dynamic_only(graph):
    """Whether dynamic quantization covers the graph: only dense and flatten ops."""
    return all(op["op"] in ("dense", "flatten") for op in graph["ops"])


def quantize(graph, net, torch, engine, example):
    """The int8 version of net and what it is ("int8 dynamic" or "int8 static")."""
    nn, tq = torch.nn, torch.ao.quantization
    torch.backends.quantized.engine = engine
    net = copy.deepcopy(net)
    if dynamic_only(graph):
        return tq.quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8), "int8 dynamic"
    for seq in net.layers.values():
        if not isinstance(seq, nn.Sequential):
            continue
        names = [n for n, _ in seq.named_children()]
        for i in range(len(names) - 1):
            a, b = seq[i], seq[i + 1]
            if isinstance(a, (nn.Conv2d, nn.Linear)) and type(b) is nn.ReLU:
                tq.fuse_modules(seq, [[names[i], names[i + 1]]], inplace=True)
                break
    model = nn.Sequential(tq.QuantStub(), net, tq.DeQuantStub()).eval()
    model.qconfig = tq.get_default_qconfig(engine)
    tq.prepare(model, inplace=True)
    with torch.inference_mode():
        for i in range(8):  # calibration: random batches, normalized as the model's input is
            model(example(32, 100 + i))
    tq.convert(model, inplace=True)
    return model, "int8 static"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graph", required=True)
    p.add_argument("--batch", default="1,64")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--min-seconds", type=float, default=2.0)
    p.add_argument("--int8", action="store_true", help="also time the int8 version, interleaved with the float one")
    p.add_argument("--engine", default="auto", help="quantized engine for --int8: fbgemm, onednn, qnnpack or auto (the first of those this torch has)")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    with open(args.graph) as f:
        graph = json.load(f)
    if args.engine == "auto":
        args.engine = next((e for e in ("fbgemm", "onednn", "qnnpack") if e in torch.backends.quantized.supported_engines), "none")
    if args.int8 and args.engine not in torch.backends.quantized.supported_engines:
        sys.exit("torch-infer-ref: quantized engine %r is not in this torch's supported engines (%s; torch %s%s); give --engine with one of them" % (
            args.engine, ", ".join(e for e in torch.backends.quantized.supported_engines if e != "none"), torch.__version__,
            ", Debian's build has no FBGEMM" if args.engine == "fbgemm" else ""))
    shape = graph["input"]["shape"]
    mean, std = graph["input"].get("mean", 0.0), graph["input"].get("std", 1.0) or 1.0

    def example(batch, seed):
        g = torch.Generator().manual_seed(seed)
        if len(shape) == 3:
            x = torch.rand(batch, shape[2], shape[0], shape[1], generator=g)
        else:
            x = torch.rand(batch, shape[0], generator=g)
        return (x - mean) / std

    torch.manual_seed(0)
    net = build(graph, torch)
    engines = [("f32", "pytorch %s (%s)" % (torch.__version__, blas(torch)), net)]
    if args.int8:
        try:
            qnet, what = quantize(graph, net, torch, args.engine, example)
            with torch.inference_mode():
                qnet(example(1, 0))
        except Exception as e:  # an op the engine cannot quantize, say
            sys.exit("torch-infer-ref: int8 (%s) failed on this graph: %s" % (args.engine, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__))
        engines.append(("%s %s" % (what, args.engine), "pytorch %s %s (%s)" % (torch.__version__, what, args.engine), qnet))
    for batch in [int(b) for b in args.batch.split(",")]:
        x = example(batch, batch)
        times = [[] for _ in engines]
        with torch.inference_mode():
            for _, _, m in engines:
                for _ in range(10):
                    m(x)
            start = time.perf_counter()
            while len(times[0]) < 50 or time.perf_counter() - start < args.min_seconds:
                for i, (_, _, m) in enumerate(engines):  # interleaved call by call
                    t0 = time.perf_counter()
                    m(x)
                    times[i].append(time.perf_counter() - t0)
                if len(times[0]) >= 100000:
                    break
        for (quant, engine, _), ts in zip(engines, times):
            ts.sort()
            p50 = ts[len(ts) // 2]
            p99 = ts[min(len(ts) - 1, int(len(ts) * 0.99))]
            print(json.dumps({
                "engine": engine, "quant": quant, "batch": batch, "threads": args.threads,
                "p50_ms": p50 * 1e3, "p99_ms": p99 * 1e3, "samples_per_s": batch / p50, "calls": len(ts),
            }), flush=True)


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
