#!/usr/bin/env python3
"""A PyTorch user's side of bringing a model to Lathe (notebook 09, and
pkg/onnximport's tests). Debian's python3-torch, CPU only.

  torch-cnn.py train OUT.onnx [--epochs N] [--seed S]
      Trains a small CNN on Fashion-MNIST (Debian's dataset-fashion-mnist
      IDX files), exports it with torch.onnx.export, and prints one JSON
      line: its test accuracy and errors on the 10,000 test images, the
      normalization it was trained with, the training time.

  torch-cnn.py zoo DIR
      Writes small nets with random weights (an MLP ending in softmax, CNNs
      with batch norm, a residual net, and two nets Lathe must refuse) as
      DIR/<name>.onnx, with a batch of inputs (<name>.input.f32, NCHW) and
      PyTorch's logits for them (<name>.logits.f32), and DIR/index.json.

Images are pixels/255, standardized with MEAN and STD (Fashion-MNIST's
usual constants), as a Lathe recipe's `normalize: {mean: .., std: ..}` does.
"""
import gzip
import json
import os
import platform
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

MEAN, STD = 0.2860, 0.3530
FASHION = os.environ.get("LATHE_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def fashion(split):
    prefix = "train" if split == "train" else "t10k"
    images = idx(os.path.join(FASHION, prefix + "-images-idx3-ubyte.gz"))
    labels = idx(os.path.join(FASHION, prefix + "-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD, torch.from_numpy(labels.astype(np.int64))


class SmallCNN(nn.Module):
    """conv-bn-relu-pool ×2, then two dense layers: a LeNet-sized CNN."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def export(model, example, path, **kw):
    model.eval()
    torch.onnx.export(model, example, path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, **kw)


def train(out, epochs=2, seed=1):
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    x, y = fashion("train")
    tx, ty = fashion("test")
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.time()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            b = order[i:i + 128]
            opt.zero_grad()
            loss_fn(model(x[b]), y[b]).backward()
            opt.step()
    seconds = time.time() - start
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(tx[i:i + 1000]).argmax(1) for i in range(0, len(tx), 1000)])
    errors = int((pred != ty).sum())
    export(model, tx[:1], out)
    print(json.dumps({"file": out, "test_accuracy": 1 - errors / len(ty), "test_errors": errors,
                      "test_images": len(ty), "epochs": epochs, "seed": seed, "mean": MEAN, "std": STD,
                      "train_seconds": round(seconds, 1), "torch": torch.__version__,
                      "engine": "PyTorch " + torch.__version__.split("+")[0],
                      "machine": machine(), "date": time.strftime("%Y-%m-%d", time.gmtime())}))


def machine():
    """This computer as Lathe names it (runs.Machine): CPU model, cores."""
    model = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model") and value.strip():
                    model = " ".join(value.split())
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


class Residual(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Sequential() if cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 2, stride=2), nn.BatchNorm2d(8), nn.ReLU())
        self.block1 = Residual(8, 8)
        self.block2 = Residual(8, 16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def randomize_bn(model):
    """Batch-norm statistics other than 0 and 1, so that folding them shows."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def zoo(out):
    torch.manual_seed(0)
    os.makedirs(out, exist_ok=True)
    nets = {
        # [batch, 784] in, a softmax at the end (dropped on import).
        "mlp": (nn.Sequential(nn.Linear(784, 32), nn.Tanh(), nn.Linear(32, 10), nn.Softmax(dim=1)), (784,), {}),
        # The notebook's CNN, untrained: 3 channels, non-square images.
        "cnn": (SmallCNN(), (1, 28, 28), {}),
        # Batch norm left in the file, for the import to fold.
        "cnn_bn": (nn.Sequential(nn.Conv2d(3, 8, 5), nn.BatchNorm2d(8), nn.Sigmoid(), nn.MaxPool2d(2),
                                 nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 4, 7)),
                   (3, 16, 12), {"do_constant_folding": False,
                                 "training": torch.onnx.TrainingMode.PRESERVE}),
        "resnet": (ResNet(), (3, 16, 16), {}),
        # Refused: PyTorch's leaky ReLU slope (0.01) and GELU (Erf).
        "leaky": (nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.LeakyReLU(), nn.Linear(8, 3)), (12,), {}),
        "gelu": (nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.GELU(), nn.Linear(8, 3)), (12,), {}),
    }
    index = {}
    for name, (model, shape, kw) in nets.items():
        randomize_bn(model)
        model.eval()
        x = torch.randn(5, *shape)
        with torch.no_grad():
            logits = model(x)
        path = os.path.join(out, name + ".onnx")
        export(model, x, path, **kw)
        x.numpy().astype("<f4").tofile(os.path.join(out, name + ".input.f32"))
        logits.numpy().astype("<f4").tofile(os.path.join(out, name + ".logits.f32"))
        index[name] = {"input": [5, *shape], "classes": logits.shape[1]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "train":
        opts = dict(zip(args[2::2], args[3::2]))
        train(args[1], epochs=int(opts.get("--epochs", 2)), seed=int(opts.get("--seed", 1)))
    elif len(args) == 2 and args[0] == "zoo":
        zoo(args[1])
    else:
        sys.exit(__doc__)
