#!/usr/bin/env bash
# Lathe's runtime against ONNX Runtime 1.30 (npm's CPU build), same
# session, 2 threads, p50 of each engine timed alone: the table of issue 30
# and NOTES.md ("Inference against ONNX Runtime"). Float: every zoo
# model, untrained (latency does not depend on the weights), ResNets at
# MNIST's 28×28×1 and CIFAR's 32×32×3. int8: LeNet-5 and ResNet-8 trained
# 100 steps on MNIST and quantized (PTQ) by a recipe, the int8 runtime
# against ONNX Runtime on the same file's QDQ ONNX.
#
#   scripts/ort-table.sh [SECONDS]   (default 2 seconds per engine and batch)
#
# Needs scripts/setup.sh's ONNX Runtime; writes into a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh
secs=${1:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/lathe" ./cmd/lathe
LATHE_ZOO_OUT="$work/zoo" go test -count=1 -run TestWriteZooFiles ./pkg/export >/dev/null
for arch in lenet5 resnet8; do
	cat >"$work/q-$arch.yaml" <<EOF
name: q-$arch
seed: 1
backend: auto
data: {dataset: mnist, batch_size: 64, validation: 1000}
model: {arch: $arch}
stages:
  - train: {steps: 100}
  - quantize: {mode: ptq, name: q-$arch, calibration_batches: 4, formats: [safetensors, onnx], check: none}
EOF
	LATHE_RUNS="$work/runs" "$work/lathe" run "$work/q-$arch.yaml" >/dev/null
done

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(nproc) cores; $(date -u +%F)"
echo
echo "| model | quant | batch | Lathe runtime p50 ms | ONNX Runtime p50 ms | Lathe ÷ ORT |"
echo "|---|---|---|---|---|---|"
row() { # name file
	"$work/lathe" bench infer "$2" --ort --seconds "$secs" --json | python3 -c '
import json, sys
name = sys.argv[1]
rep = json.load(sys.stdin)
rows = rep["results"]
for quant in ("f32", "int8"):
    ours = {r["batch"]: r for r in rows if " alone (" in r["engine"] and r["quant"] == quant}
    theirs = {r["batch"]: r for r in rows if r["engine"].startswith("onnxruntime") and r["quant"] == quant}
    for b in sorted(ours):
        if b in theirs:
            o, t = ours[b]["p50_ms"], theirs[b]["p50_ms"]
            print(f"| {name} | {quant} | {b} | {o:.3f} | {t:.3f} | {o / t:.2f} |")
' "$1"
}
for m in mlp lenet5 lenet5-16-64 resnet8-28 resnet20-28 resnet18-28 resnet8-32 resnet20-32 resnet18-32; do
	row "$m" "$work/zoo/$m.safetensors"
done
for arch in lenet5 resnet8; do
	row "$arch (PTQ)" "$(ls "$work"/runs/*/q-$arch.safetensors)"
done
