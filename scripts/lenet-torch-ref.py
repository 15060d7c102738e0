#!/usr/bin/python3
"""Reference logits of LeNet-5 with fixed weights, from PyTorch.

Writes pkg/infer/testdata/lenet5_torch.json, which TestLeNetMatchesPyTorch
compares the runtime's logits with. Run it again only if the model or the
formulas below change (Debian's python3-torch; a reference, never a
dependency):

    /usr/bin/python3 scripts/lenet-torch-ref.py > pkg/infer/testdata/lenet5_torch.json

Weights and inputs come from integer formulas that Go computes bit for bit
the same way (a float64 division rounded to float32), in Lathe's layouts:
convolution kernels [K, K, C, O], dense weights [in, out], images NHWC.
Lathe flattens NHWC (h, w, c); PyTorch's NCHW output is permuted to match.
"""
import json
import sys

import torch

MEAN, STD = 0.1307, 0.3081
# (name, shape in Lathe's layout); each tensor's layer number seeds its formula.
TENSORS = [
    ("conv1/weights", [5, 5, 1, 6]), ("conv1/biases", [6]),
    ("conv2/weights", [5, 5, 6, 16]), ("conv2/biases", [16]),
    ("fc1/weights", [400, 120]), ("fc1/biases", [120]),
    ("fc2/weights", [120, 84]), ("fc2/biases", [84]),
    ("logits/weights", [84, 10]), ("logits/biases", [10]),
]


def values(layer, n, scale):
    # ((i·7919 + 131·layer) mod 1000 − 500) / scale, as float32
    return torch.tensor([((i * 7919 + 131 * layer) % 1000 - 500) / scale for i in range(n)], dtype=torch.float64).float()


def main():
    torch.set_grad_enabled(False)
    t = {}
    for layer, (name, shape) in enumerate(TENSORS):
        n = 1
        for d in shape:
            n *= d
        # fan-in-ish scales keep activations near 1 through the layers
        t[name] = values(layer, n, 1500.0 if "conv" in name else 3000.0).reshape(shape)
    batch = 2
    pixels = torch.tensor([((i * 31 + 7) % 256) / 255 for i in range(batch * 28 * 28)], dtype=torch.float64).float()
    x = pixels.reshape(batch, 28, 28, 1).permute(0, 3, 1, 2)
    x = (x - torch.tensor(MEAN, dtype=torch.float32)) / torch.tensor(STD, dtype=torch.float32)
    conv = lambda x, name, pad: torch.nn.functional.conv2d(x, t[name + "/weights"].permute(3, 2, 0, 1), t[name + "/biases"], padding=pad)
    x = torch.max_pool2d(torch.relu(conv(x, "conv1", 2)), 2)
    x = torch.max_pool2d(torch.relu(conv(x, "conv2", 0)), 2)
    x = x.permute(0, 2, 3, 1).reshape(batch, -1)
    dense = lambda x, name: x @ t[name + "/weights"] + t[name + "/biases"]
    x = torch.relu(dense(x, "fc1"))
    x = torch.relu(dense(x, "fc2"))
    logits = dense(x, "logits")
    json.dump({"generator": "scripts/lenet-torch-ref.py, PyTorch " + torch.__version__,
               "mean": MEAN, "std": STD, "batch": batch, "logits": [float(v) for v in logits.reshape(-1)]}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
