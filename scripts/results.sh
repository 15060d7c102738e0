#!/usr/bin/env bash
# results.sh — measure every figure the README quotes, save each
# measurement as an entry in docs/results/ (lathe results add) and render
# docs/results.md from them (lathe results render). The README and the docs
# quote those figures; `go test ./docs` fails when they quote a number the
# page lacks, or when the page differs from its entries.
#
#   scripts/results.sh            # every entry, over an hour on 2 cores
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
# The report stage finds ONNX Runtime's script from the folder it runs in;
# the torch-cnn entry runs in $work.
export LATHE_ORT_SCRIPT="$root/scripts/ort-infer.js"
lathe() { "$work/lathe" "$@"; }
want() { # entry file name: measure it?
	[ $# -eq 0 ] && return 0
	[ ${#only[@]} -eq 0 ] && return 0
	for w in "${only[@]}"; do [[ "$1" == *"$w"* ]] && return 0; done
	return 1
}
only=("$@")
mkdir -p "$out"
# The compression recipes run once per seed: a result is a mean with its
# range, not one draw that may sit on either side of a bar.
seeds=42,43,44

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
	lathe run mnist-prune-gradual --seeds $seeds >/dev/null
	lathe results add mnist-prune-gradual --mean \
		--show test_accuracy,sparsity,sparsity/conv1,sparsity/conv2,sparsity/fc1,sparsity/fc2 --versus pruned,dense \
		--title "Unstructured pruning" --to "$out/20-prune-gradual.json"
fi

if want 30-prune-structured; then
	lathe run fashion-prune-structured --seeds $seeds >/dev/null
	lathe results add fashion-prune-structured --mean \
		--show "test_accuracy=test accuracy,params:int=parameters,latency_before_ms:ms=GoMLX before (batch 64),latency_after_ms:ms=after,latency_speedup=faster,runtime_before_ms:ms=runtime before (batch 64),runtime_after_ms:ms=after,runtime_speedup=faster" --versus pruned,dense \
		--title "Structured pruning" --to "$out/30-prune-structured.json"
fi

if want 40-ptq; then
	lathe run mnist-ptq --seeds $seeds >/dev/null
	lathe results add mnist-ptq --mean --stage 3,4 --labels "min/max observer,MSE observer" \
		--show "f32_test_accuracy=f32 accuracy,int8_test_accuracy=int8 accuracy,f32_bytes:int=f32 bytes,int8_bytes:int=int8 bytes,size_ratio=smaller,f32_batch64_ms:ms=f32 batch 64,int8_batch64_ms:ms=int8 batch 64,int8_speedup=faster" \
		--title "int8, post-training" --to "$out/40-ptq.json"
fi

if want 50-distill; then
	lathe run mnist-distill --seeds $seeds >/dev/null
	lathe results add mnist-distill --mean --stage 3,4 --labels "2×800 student (T 20),1×64 student (T 4)" \
		--show "teacher_test_errors:int=teacher errors,alone_test_errors:int=student alone,student_test_errors:int=distilled,gap_closed=gap closed,transfer_set:int=transfer set" \
		--title "Distillation, MNIST MLPs" --to "$out/50-distill.json"
fi

if want 51-distill-hinton; then
	# One seed: a run takes about 15 minutes on 2 cores.
	lathe run mnist-distill-hinton >/dev/null
	lathe results add mnist-distill-hinton --stage 3 --labels "2×1200 with dropout and jitter → 2×800 at T 20 (seed 42)" \
		--show "teacher_test_errors:int=teacher errors,alone_test_errors:int=student alone,student_test_errors:int=distilled,gap_closed=gap closed" \
		--title "Distillation, Hinton et al.'s MNIST setting" --to "$out/51-distill-hinton.json"
fi

if want 55-distill-cnn; then
	lathe run fashion-distill-cnn --seeds $seeds >/dev/null
	lathe results add fashion-distill-cnn --mean --stage 2 --labels "wide LeNet-5 → LeNet-5" \
		--show "teacher_test_errors:int=teacher errors,alone_test_errors:int=student alone,student_test_errors:int=distilled,gap_closed=gap closed,transfer_set:int=transfer set" \
		--title "Distillation, Fashion-MNIST CNNs" --to "$out/55-distill-cnn.json"
fi

if want 60-seed-pipeline; then
	lathe run seed-pipeline-cpu --seeds $seeds >/dev/null
	lathe results add seed-pipeline-cpu \
		--show "baseline_accuracy=baseline,combined_accuracy=combined,baseline_bytes:int=baseline bytes,combined_bytes:int=combined bytes,size_ratio=smaller,baseline_batch64_ms:ms=baseline batch 64,combined_batch64_ms:ms=combined batch 64,speedup_batch64=faster,accuracy_drop_pp=accuracy change (pp)" \
		--title "All of it: the seed's pipeline, three seeds" --to "$out/60-seed-pipeline.json"
	last=${seeds##*,}
	lathe results add seed-pipeline-cpu/seed$last --prefixes baseline_,quantized_,pruned_,combined_ \
		--show "accuracy=test accuracy,agreement=agrees with baseline,bytes:int=bytes,batch64_ms:ms=batch 64,alone_batch64_ms:ms=batch 64 timed alone,onnxruntime_batch64_ms:ms=ONNX Runtime batch 64" \
		--title "The seed's pipeline, model by model (seed $last)" --to "$out/61-seed-pipeline-models.json"
fi

if want 70-onnxruntime; then
	LATHE_ZOO_OUT="$work/zoo" go test -count=1 -run TestWriteZooFiles ./pkg/export >/dev/null
	for m in lenet5:LeNet-5 "resnet18-32:ResNet-18 32×32×3"; do
		lathe bench infer "$work/zoo/${m%%:*}.safetensors" --ort --batch 64 --seconds 3 --json | /usr/bin/python3 -c '
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
' "${m#*:}"
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
	lathe run "$recipe" $run_flags >/dev/null
	lathe results add "$recipe" --show "$show" --title "$title" --to "$out/$file.json" "$@"
}
run_flags=""
train_cols=test_accuracy,validation_accuracy,params:int,ms_per_step:ms
recipe_entry 90-quickstart quickstart "Recipe quickstart" $train_cols
recipe_entry 91-mnist-lenet mnist-lenet "Recipe mnist-lenet" $train_cols
recipe_entry 92-fashion-mlp fashion-mlp "Recipe fashion-mlp" $train_cols
recipe_entry 93-accumulate accumulate "Recipe accumulate" $train_cols,updates:int
recipe_entry 94-spirals spirals "Recipe spirals" $train_cols
recipe_entry 95-mixed-precision mixed-precision "Recipe mixed-precision" test_accuracy,ms_per_step:ms,loss_scale:plain
recipe_entry 96-optimizers-compare optimizers-compare "Recipe optimizers-compare" test_accuracy,train_loss:short
run_flags="--seeds $seeds" # the compression recipes below: mean and range
recipe_entry 97-mnist-qat mnist-qat "Recipe mnist-qat" f32_test_accuracy,int8_test_accuracy,int8_bytes:int,size_ratio,int8_speedup \
	--mean --stage 3,6 --labels "PTQ (min/max),QAT"
recipe_entry 98-fashion-qat fashion-qat "Recipe fashion-qat" f32_test_accuracy,int8_test_accuracy,int8_bytes:int,size_ratio,int8_speedup \
	--mean --stage 3,6 --labels "PTQ (min/max),QAT"
recipe_entry 99-prune-sensitivity prune-sensitivity "Recipe prune-sensitivity" test_accuracy,sparsity,sparsity/conv1,sparsity/conv2,sparsity/fc1,sparsity/fc2 \
	--mean --stage 3,4,6 --labels "the prune stage (80% by the sensitivity allocation),right after pruning,after one epoch of fine-tuning"

# The runtime against GoMLX and PyTorch (float32), and int8 against
# PyTorch's int8: bench infer's JSON flattened to a row per model and batch.
flatten_infer() { # model name
	/usr/bin/python3 -c '
import json, sys
rep, rows = json.load(sys.stdin), {}
for r in rep["results"]:
    e, q = r["engine"], r.get("quant", "f32")
    if " alone (" in e or e.startswith("onnxruntime"):
        continue
    if e.startswith("gomlx"):
        k = "gomlx_ms"
    elif e.startswith("lathe runtime"):
        k = "runtime_int8_ms" if q == "int8" else "runtime_ms"
    elif e.startswith("pytorch"):
        k = "torch_ms" if q == "f32" else "torch_int8_ms"
    else:
        continue
    rows.setdefault(r["batch"], {})[k] = r["p50_ms"]
for b, m in sorted(rows.items()):
    out = {"model": sys.argv[1], "batch": b, "machine": rep["machine"], "date": rep["date"], "kernels": rep["kernels"], **m}
    out["speedup_vs_gomlx"] = m["gomlx_ms"] / m["runtime_ms"]
    out["runtime_over_torch"] = m["runtime_ms"] / m["torch_ms"]
    if "runtime_int8_ms" in m:
        out["int8_speedup"] = m["runtime_ms"] / m["runtime_int8_ms"]
        out["int8_over_torch_int8"] = m["runtime_int8_ms"] / m["torch_int8_ms"]
    print(json.dumps(out))
' "$1"
}

if want 75-runtime; then
	[ -d "$work/zoo" ] || LATHE_ZOO_OUT="$work/zoo" go test -count=1 -run TestWriteZooFiles ./pkg/export >/dev/null
	for m in "mlp:MLP 784-256-256-256-10" lenet5:LeNet-5; do
		lathe bench infer "$work/zoo/${m%%:*}.safetensors" --torch --batch 1,64 --seconds 3 --json | flatten_infer "${m#*:}"
	done >"$work/runtime.json"
	lathe results add --bench "$work/runtime.json" --label model,batch \
		--show "gomlx_ms:ms=GoMLX (go),runtime_ms:ms=runtime,torch_ms:ms=PyTorch,speedup_vs_gomlx:times=runtime speed-up vs GoMLX,runtime_over_torch:times=runtime ÷ PyTorch" \
		--command "lathe bench infer ZOO.safetensors --torch --batch 1,64 --seconds 3 (zoo files: TestWriteZooFiles; untrained: latency does not depend on the weights)" \
		--title "The Go runtime against GoMLX and PyTorch, float32, p50" --to "$out/75-runtime.json"
fi

if want 45-int8-runtime; then
	int8=$(ls "$LATHE_RUNS"/*/lenet.int8-minmax.safetensors 2>/dev/null | head -1 || true)
	if [ -z "$int8" ]; then
		lathe run mnist-ptq >/dev/null
		int8=$(ls "$LATHE_RUNS"/*/lenet.int8-minmax.safetensors | head -1)
	fi
	lathe bench infer "$int8" --torch --batch 1,64 --seconds 3 --json | flatten_infer "LeNet-5 (mnist-ptq)" >"$work/int8.json"
	lathe results add --bench "$work/int8.json" --label model,batch \
		--show "runtime_ms:ms=runtime f32,runtime_int8_ms:ms=runtime int8,int8_speedup:times=int8 speed-up,torch_ms:ms=PyTorch f32,torch_int8_ms:ms=PyTorch int8,int8_over_torch_int8:times=runtime int8 ÷ PyTorch int8" \
		--command "lathe bench infer RUN/lenet.int8-minmax.safetensors --torch --batch 1,64 --seconds 3 (mnist-ptq's file; PyTorch's int8 is static, onednn engine)" \
		--title "int8 in the runtime against PyTorch's int8" --to "$out/45-int8-runtime.json"
fi

# Han et al.'s pruning to 8% of the weights (table 1), three seeds each.
for han in lenet5:LeNet-5 "lenet-300-100:LeNet-300-100"; do
	name=${han%%:*}
	want "85-han-$name" || continue
	lathe run "han-$name" --seeds $seeds >/dev/null
	lathe results add "han-$name" --mean --versus pruned,dense \
		--show "test_accuracy=test accuracy,sparsity,nonzero_prunable_params:int=weights left,sparse_bytes:int=sparse bytes (values + bitmap),dense_bytes:int=dense bytes" \
		--title "Han's pruning, ${han#*:}" --to "$out/85-han-$name.json"
done

lathe results render "$out" -o docs/results.md
echo "rendered docs/results.md from $(ls "$out"/*.json | wc -l) entries"
