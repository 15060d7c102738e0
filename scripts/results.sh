#!/usr/bin/env bash
# results.sh — measure every figure the README quotes, save each
# measurement as an entry in docs/results/ (lathe results add) and render
# docs/results.md from them (lathe results render). The README and the docs
# quote those figures; `go test ./docs` fails when they quote a number the
# page lacks, or when the page differs from its entries.
#
#   scripts/results.sh            # every entry, about 15 minutes on 2 cores
#   scripts/results.sh ptq prune  # only entries whose file name holds a word
#
# Needs scripts/setup.sh (bin/lathe's dependencies, python3-torch with
# OpenBLAS, ONNX Runtime from npm). Runs go to a temporary store. Timings
# are of this machine under whatever else it runs: run it on a quiet one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh
root=$PWD
out=$root/docs/results
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/lathe" ./cmd/lathe
export LATHE_RUNS="$work/runs"
lathe() { "$work/lathe" "$@"; }
want() { # entry file name: measure it?
	[ $# -eq 0 ] && return 0
	[ ${#only[@]} -eq 0 ] && return 0
	for w in "${only[@]}"; do [[ "$1" == *"$w"* ]] && return 0; done
	return 1
}
only=("$@")
mkdir -p "$out"

if want 10-training; then
	for m in "mlp --batch 128" "lenet5 --batch 128" "resnet8 --batch 64"; do
		lathe bench train --model $m --torch --rounds 3 --steps 20 --json
	done >"$work/train.json"
	lathe results add --bench "$work/train.json" --label model,batch \
		--show "lathe_ms:ms=Lathe,torch_ms:ms=PyTorch,lathe_over_torch:times=Lathe ÷ PyTorch" \
		--command "lathe bench train --model M --batch B --torch --rounds 3 --steps 20 --json" \
		--title "Training on a CPU: one Adam step against PyTorch's" --to "$out/10-training.json"
fi

if want 20-prune-gradual; then
	lathe run mnist-prune-gradual >/dev/null
	lathe results add mnist-prune-gradual/pruned mnist-prune-gradual/dense \
		--show test_accuracy,sparsity,sparsity/conv1,sparsity/conv2,sparsity/fc1,sparsity/fc2 --versus pruned,dense \
		--title "Unstructured pruning" --to "$out/20-prune-gradual.json"
fi

if want 30-prune-structured; then
	lathe run fashion-prune-structured >/dev/null
	lathe results add fashion-prune-structured/pruned fashion-prune-structured/dense \
		--show "test_accuracy=test accuracy,params:int=parameters,latency_before_ms:ms=latency before (batch 64),latency_after_ms:ms=after,latency_speedup=faster" --versus pruned,dense \
		--title "Structured pruning" --to "$out/30-prune-structured.json"
fi

if want 40-ptq; then
	lathe run mnist-ptq >/dev/null
	lathe results add mnist-ptq --stage 3,4 --labels "min/max observer,MSE observer" \
		--show "f32_test_accuracy=f32 accuracy,int8_test_accuracy=int8 accuracy,f32_bytes:int=f32 bytes,int8_bytes:int=int8 bytes,size_ratio=smaller,f32_batch64_ms:ms=f32 batch 64,int8_batch64_ms:ms=int8 batch 64,int8_speedup=faster" \
		--title "int8, post-training" --to "$out/40-ptq.json"
fi

if want 50-distill; then
	lathe run mnist-distill >/dev/null
	lathe results add mnist-distill --stage 3,4 --labels "2×800 student (T 20),1×64 student (T 4)" \
		--show "teacher_test_errors=teacher errors,alone_test_errors=student alone,student_test_errors=distilled,gap_closed=gap closed,transfer_set:int=transfer set" \
		--title "Distillation, MNIST MLPs" --to "$out/50-distill.json"
fi

if want 55-distill-cnn; then
	lathe run fashion-distill-cnn >/dev/null
	lathe results add fashion-distill-cnn --stage 2 \
		--show "teacher_test_errors=teacher errors,alone_test_errors=student alone,student_test_errors=distilled,gap_closed=gap closed,transfer_set:int=transfer set" \
		--title "Distillation, Fashion-MNIST CNNs" --to "$out/55-distill-cnn.json"
fi

if want 60-seed-pipeline; then
	lathe run seed-pipeline-cpu >/dev/null
	lathe results add seed-pipeline-cpu \
		--show "baseline_accuracy=baseline,combined_accuracy=combined,baseline_bytes:int=baseline bytes,combined_bytes:int=combined bytes,size_ratio=smaller,baseline_batch64_ms:ms=baseline batch 64,combined_batch64_ms:ms=combined batch 64,speedup_batch64=faster,accuracy_drop_pp=accuracy change (pp)" \
		--title "All of it: the seed's pipeline" --to "$out/60-seed-pipeline.json"
fi

if want 70-onnxruntime; then
	LATHE_ZOO_OUT="$work/zoo" go test -count=1 -run TestWriteZooFiles ./pkg/export >/dev/null
	for m in lenet5 resnet18-32; do
		lathe bench infer "$work/zoo/$m.safetensors" --ort --batch 64 --seconds 3 --json | /usr/bin/python3 -c '
import json, sys
rep = json.load(sys.stdin)
ours = [r for r in rep["results"] if " alone (" in r["engine"] and r["quant"] == "f32"]
theirs = [r for r in rep["results"] if r["engine"].startswith("onnxruntime") and r["quant"] == "f32"]
for o in ours:
    for t in theirs:
        if t["batch"] == o["batch"]:
            print(json.dumps({"model": sys.argv[1], "batch": o["batch"], "machine": rep["machine"], "date": rep["date"],
                "kernels": rep["kernels"], "lathe_ms": o["p50_ms"], "onnxruntime_ms": t["p50_ms"],
                "lathe_over_onnxruntime": o["p50_ms"] / t["p50_ms"]}))
' "$m"
	done >"$work/ort.json"
	lathe results add --bench "$work/ort.json" --label model,batch \
		--show "lathe_ms:ms=Lathe,onnxruntime_ms:ms=ONNX Runtime,lathe_over_onnxruntime:times=Lathe ÷ ONNX Runtime" \
		--command "lathe bench infer ZOO.safetensors --ort --batch 64 --seconds 3 (zoo files: TestWriteZooFiles)" \
		--title "The Go runtime against ONNX Runtime 1.30, float32, p50, each timed alone" --to "$out/70-onnxruntime.json"
fi

if want 79-80-torch-cnn; then
	(cd "$work" && /usr/bin/python3 "$root/scripts/torch-cnn.py" train fashion_cnn.onnx --epochs 2 >torch-cnn.out)
	(cd "$work" && lathe run "$root/scripts/torch-cnn.yaml" >/dev/null)
	lathe results add torch-cnn \
		--show "test_accuracy=imported (evaluate),pruned_accuracy=pruned,combined_accuracy=pruned + int8,combined_onnxruntime_accuracy=pruned + int8 in ONNX Runtime,baseline_bytes:int=imported bytes,combined_bytes:int=int8 bytes,size_ratio=smaller" \
		--command "scripts/torch-cnn.py train fashion_cnn.onnx --epochs 2; lathe run scripts/torch-cnn.yaml" \
		--title "A PyTorch model: imported, pruned and quantized in Lathe" --to "$out/80-torch-cnn.json"
	lathe results add --bench "$work/torch-cnn.out" --label engine --show "test_accuracy:percent=test accuracy,test_errors:int=test errors,train_seconds:seconds=training time" \
		--command "scripts/torch-cnn.py train fashion_cnn.onnx --epochs 2" \
		--title "A PyTorch model: as PyTorch trained it" --to "$out/79-torch-cnn-pytorch.json"
fi

# Every other shipped recipe, as it runs: the figure its comment quotes.
recipe_entry() { # file recipe title show [add's other flags…]
	local file=$1 recipe=$2 title=$3 show=$4
	shift 4
	want "$file" || return 0
	lathe run "$recipe" >/dev/null
	lathe results add "$recipe" --show "$show" --title "$title" --to "$out/$file.json" "$@"
}
train_cols=test_accuracy,validation_accuracy,params:int,ms_per_step:ms
recipe_entry 90-quickstart quickstart "Recipe quickstart" $train_cols
recipe_entry 91-mnist-lenet mnist-lenet "Recipe mnist-lenet" $train_cols
recipe_entry 92-fashion-mlp fashion-mlp "Recipe fashion-mlp" $train_cols
recipe_entry 93-accumulate accumulate "Recipe accumulate" $train_cols,updates:int
recipe_entry 94-spirals spirals "Recipe spirals" $train_cols
recipe_entry 95-mixed-precision mixed-precision "Recipe mixed-precision" test_accuracy,ms_per_step:ms,loss_scale:plain
recipe_entry 96-optimizers-compare optimizers-compare "Recipe optimizers-compare" test_accuracy,train_loss:short
recipe_entry 97-mnist-qat mnist-qat "Recipe mnist-qat" f32_test_accuracy,int8_test_accuracy,int8_bytes:int,size_ratio,int8_speedup \
	--stage 3,6 --labels "PTQ (min/max),QAT"
recipe_entry 98-fashion-qat fashion-qat "Recipe fashion-qat" f32_test_accuracy,int8_test_accuracy,int8_bytes:int,size_ratio,int8_speedup \
	--stage 3,6 --labels "PTQ (min/max),QAT"
recipe_entry 99-prune-sensitivity prune-sensitivity "Recipe prune-sensitivity" test_accuracy,sparsity,sparsity/conv1,sparsity/conv2,sparsity/fc1,sparsity/fc2 \
	--stage 3,4,6 --labels "the prune stage (80% by the sensitivity allocation),right after pruning,after one epoch of fine-tuning"

lathe results render "$out" -o docs/results.md
echo "rendered docs/results.md from $(ls "$out"/*.json | wc -l) entries"
