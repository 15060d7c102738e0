#!/usr/bin/env bash
# gpu-bench.sh — Lathe's train and inference speed on an NVIDIA GPU, beside PyTorch.
#
# For a GPU machine with CUDA, JAX's CUDA PJRT plugin and (optionally) PyTorch,
# but no Go and no network: it runs a prebuilt lathe binary.
#
#   LATHE=/path/to/lathe scripts/gpu-bench.sh            # GPU (XLA CUDA via JAX's plugin)
#   scripts/gpu-bench.sh --cpu                           # same table on the pure-Go backend, tiny sizes
#   scripts/gpu-bench.sh --dry-run                       # check the binary and list the cases
#
# Build the binary where Go is: `. scripts/goenv.sh && go build -o bin/lathe ./cmd/lathe`
# (default $LATHE is ./bin/lathe; goenv.sh gives its CPU runs compute's SIMD kernels).
#
# Cases: `lathe bench train --json` for MLP 784-3×2048-10 (batch 1024), LeNet-5
# (max-pooling), ResNet-20 and ResNet-18 at 32x32x3, each in f32 and bf16, one
# process per case; then `lathe bench infer --json` on an int8 MLP model file and
# its f32 twin. Each case runs under `timeout` ($GPU_BENCH_TIMEOUT, 300 s); a case
# that fails or times out is a "failed: <one line>" row and the script goes on
# (bf16 max-pool gradients are known not to compile on XLA CUDA).
#
# Model files for `bench infer`: $LATHE_BENCH_MODELS (default ./bench-models)
# must hold mlp.int8.safetensors and mlp.int8.f32.safetensors. When it does not,
# they are made on the spot by a short `lathe run` of a recipe on the
# synthetic-images set on the pure-Go backend (a few seconds, no dataset files
# needed) and kept there for the next time.
#
# XLA_FLAGS defaults to --xla_gpu_autotune_level=0: a first bf16 GEMM compile
# spent ~3 minutes in XLA's autotuner. Compile time is its own column.
# Outputs (JSON and stderr of every case) go to $GPU_BENCH_OUT (default
# ./gpu-bench-out/<date>).
#
# Exit status: 0 when every case ran, 1 when some failed, 2 when there is no
# NVIDIA GPU (after checking that the binary runs `lathe doctor`), 3 for a
# missing or broken binary.
set -u

usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

MODE=gpu
STEPS=""
while [ $# -gt 0 ]; do
	case "$1" in
	--cpu) MODE=cpu ;;
	--dry-run) MODE=dry ;;
	--steps) STEPS="$2"; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "gpu-bench: unknown argument $1 (see --help)" >&2; exit 64 ;;
	esac
	shift
done

LATHE="${LATHE:-./bin/lathe}"
T="${GPU_BENCH_TIMEOUT:-300}"
SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
OUT="${GPU_BENCH_OUT:-./gpu-bench-out/$(date +%Y%m%d-%H%M%S)}"
MODELS="${LATHE_BENCH_MODELS:-./bench-models}"
export XLA_FLAGS="${XLA_FLAGS:---xla_gpu_autotune_level=0}"
# go-xla must never try to download plugins here: there is no network.
export GOMLX_NO_AUTO_INSTALL=1

mkdir -p "$OUT" || exit 3
if [ ! -x "$LATHE" ]; then
	echo "gpu-bench: no lathe binary at $LATHE: build one with 'go build -o bin/lathe ./cmd/lathe' and set LATHE=path" >&2
	exit 3
fi
if ! timeout 120 "$LATHE" doctor >"$OUT/doctor.txt" 2>&1; then
	echo "gpu-bench: '$LATHE doctor' failed: $(tail -n 1 "$OUT/doctor.txt")" >&2
	exit 3
fi
echo "lathe doctor: ok ($OUT/doctor.txt); $(grep -m1 'auto chooses' "$OUT/doctor.txt" | sed 's/^ *//')"

# Cases: name|precision|bench train flags. The GPU sizes are the ones NOTES.md
# quotes; --cpu shrinks them so the whole table takes seconds on 2 cores.
if [ "$MODE" = cpu ]; then
	BACKEND="${LATHE_BENCH_BACKEND:-go}"
	STEPS="${STEPS:-3}"
	INFER_BATCH=16
	INFER_SECONDS=0.3
	HIDDEN_RECIPE="[256]"
	CASES="mlp|--model mlp --hidden 128,128 --batch 32
lenet5|--model lenet5 --input 28x28x1 --batch 8
resnet8|--model resnet8 --input 16x16x3 --batch 4
resnet18|--model resnet18 --input 8x8x3 --batch 2"
	TORCH_DEVICE=cpu
else
	BACKEND="${LATHE_BENCH_BACKEND:-xla:cuda}"
	STEPS="${STEPS:-50}"
	INFER_BATCH=1,256
	INFER_SECONDS=3
	HIDDEN_RECIPE="[1024, 1024]"
	CASES="mlp|--model mlp --hidden 2048,2048,2048 --batch 1024
lenet5|--model lenet5 --input 28x28x1 --batch 256
resnet20|--model resnet20 --input 32x32x3 --batch 128
resnet18|--model resnet18 --input 32x32x3 --batch 128"
	TORCH_DEVICE=cuda
fi

if [ "$MODE" = dry ]; then
	echo "dry run: backend $BACKEND, XLA_FLAGS=$XLA_FLAGS, timeout ${T}s per case, cases:"
	echo "$CASES" | while IFS='|' read -r name flags; do
		for p in f32 bf16; do echo "  $LATHE bench train --backend $BACKEND $flags --precision $p --json"; done
	done
	echo "  $LATHE bench infer $MODELS/mlp.int8.safetensors --backend $BACKEND --batch $INFER_BATCH --json"
	exit 0
fi
if [ "$MODE" = gpu ] && ! { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }; then
	echo "no NVIDIA GPU: nothing to measure (lathe doctor ran; try --cpu to check the plumbing)"
	exit 2
fi
[ "$MODE" = gpu ] && nvidia-smi -L | tee "$OUT/gpu.txt"

# PyTorch: the first of $PYTHON, python3 and /usr/bin/python3 (Debian's
# python3-torch when a pyenv python3 shadows it) that imports torch with the device.
TORCH=no
for py in ${PYTHON:-} python3 /usr/bin/python3; do
	if command -v "$py" >/dev/null 2>&1 &&
		timeout 60 "$py" -c "import torch,sys; sys.exit(0 if '$TORCH_DEVICE'=='cpu' or torch.cuda.is_available() else 1)" >/dev/null 2>&1; then
		TORCH=yes
		PYTHON="$py"
		break
	fi
done
echo "backend $BACKEND, XLA_FLAGS=$XLA_FLAGS, $STEPS steps, timeout ${T}s per case, PyTorch: $TORCH ${PYTHON:-}"

ROWS="$OUT/rows.tsv" # model, precision, lathe ms, compile s, torch ms
: >"$ROWS"
FAILED=0

# json_num FILE KEY: the first numeric value of "KEY" in pretty-printed JSON.
json_num() { sed -n "s/.*\"$2\": *\([-0-9.eE+]*\).*/\1/p" "$1" | head -n 1; }

# why RC ERRFILE: one line saying why a case failed.
why() {
	if [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; then
		echo "failed: timed out after ${T}s"
	else
		local line
		line="$(grep -v "^[[:space:]]*$" "$2" | tail -n 1 | sed "s/^lathe: //" | cut -c1-160)"
		echo "failed: ${line:-exit status $1}"
	fi
}

echo "$CASES" | while IFS='|' read -r name flags; do
	for p in f32 bf16; do
		base="$OUT/train-$name-$p"
		echo "== lathe bench train $name $p"
		# shellcheck disable=SC2086 # $flags is a list of flags
		timeout "$T" "$LATHE" bench train --backend "$BACKEND" $flags --precision "$p" --steps "$STEPS" --json >"$base.json" 2>"$base.err"
		rc=$?
		if [ "$rc" -eq 0 ] && [ -n "$(json_num "$base.json" ms_per_step)" ]; then
			lathe_ms="$(json_num "$base.json" ms_per_step)"
			compile="$(awk -v c="$(json_num "$base.json" compile_s)" 'BEGIN { printf "%.3g", c }')"
		else
			lathe_ms="$(why "$rc" "$base.err")"
			compile="-"
		fi
		torch_ms="-"
		if [ "$TORCH" = yes ]; then
			# The torch script takes the same model flags (it ignores none of them).
			# shellcheck disable=SC2086
			timeout "$T" "$PYTHON" "$SCRIPTS/torch-train-ref.py" $flags --precision "$p" --steps "$STEPS" \
				--device "$TORCH_DEVICE" >"$base.torch.json" 2>"$base.torch.err"
			rc=$?
			if [ "$rc" -eq 0 ]; then
				torch_ms="$(awk -v t="$(json_num "$base.torch.json" ms_per_step)" 'BEGIN { printf "%.4g", t }')"
			else
				torch_ms="$(why "$rc" "$base.torch.err")"
			fi
		fi
		printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$p" "$lathe_ms" "$compile" "$torch_ms" >>"$ROWS"
	done
done

# Inference: an int8 model file and its f32 twin, made here if absent.
INT8="$MODELS/mlp.int8.safetensors"
if [ ! -f "$INT8" ] || [ ! -f "$MODELS/mlp.int8.f32.safetensors" ]; then
	echo "== making model files in $MODELS (lathe run, synthetic-images, pure-Go backend)"
	mkdir -p "$MODELS"
	cat >"$OUT/bench-models.yaml" <<EOF
name: bench-models
seed: 1
backend: go
data: {dataset: synthetic-images, batch_size: 64, train_size: 1024, test_size: 256, validation: 128}
model: {arch: mlp, hidden: $HIDDEN_RECIPE}
stages:
  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 1e-3}}
  - quantize: {mode: ptq, observer: minmax, calibration_batches: 4, name: mlp.int8}
EOF
	if timeout "$T" "$LATHE" run --backend go --runs-dir "$OUT/runs" "$OUT/bench-models.yaml" >"$OUT/bench-models.log" 2>&1; then
		made="$(find "$OUT/runs" -name mlp.int8.safetensors | head -n 1)"
		cp "$made" "$(dirname "$made")/mlp.int8.f32.safetensors" "$MODELS/"
	else
		echo "making model files $(why $? "$OUT/bench-models.log")"
	fi
fi
if [ -f "$INT8" ]; then
	echo "== lathe bench infer $INT8"
	base="$OUT/infer-mlp"
	timeout "$T" "$LATHE" bench infer "$INT8" --backend "$BACKEND" --batch "$INFER_BATCH" --seconds "$INFER_SECONDS" --json >"$base.json" 2>"$base.err"
	rc=$?
	if [ "$rc" -eq 0 ] && command -v python3 >/dev/null 2>&1; then
		# One row per engine and batch: GoMLX on $BACKEND (f32), Lathe's CPU runtime f32 and int8.
		python3 - "$base.json" >>"$ROWS" <<'EOF' || printf 'infer\t-\tfailed: could not read %s\t-\t-\n' "$base.json" >>"$ROWS"
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["results"]:
    eng = x["engine"].replace("lathe runtime", "runtime").split(" (")[0]
    comp = x.get("compile_s")
    print(f"infer b{x['batch']} {eng}\t{x['quant']}\t{x['p50_ms']:.4g}\t{'-' if comp is None else f'{comp:.3g}'}\t-")
EOF
	elif [ "$rc" -eq 0 ]; then
		printf 'infer\t-\tok, no python3 to read %s\t-\t-\n' "$base.json" >>"$ROWS"
	else
		printf 'infer\tf32,int8\t%s\t-\t-\n' "$(why "$rc" "$base.err")" >>"$ROWS"
	fi
else
	printf 'infer\tf32,int8\tfailed: no model files in %s\t-\t-\n' "$MODELS" >>"$ROWS"
fi

# The table. Ratio is lathe/torch: above 1, Lathe is slower.
echo
echo "backend $BACKEND ($(grep -c . "$ROWS") rows; JSON and logs in $OUT)"
printf '%-28s %-9s %14s %10s %14s %12s\n' model precision "lathe ms/step" "compile s" "torch ms/step" "lathe/torch"
while IFS="$(printf '\t')" read -r model prec lms comp tms; do
	ratio="-"
	case "$lms" in failed:*) FAILED=1 ;; esac
	case "$tms" in failed:*) FAILED=1 ;; esac
	if [[ "$lms" =~ ^[0-9.]+$ ]] && [[ "$tms" =~ ^[0-9.eE+-]+$ ]] && [ "$tms" != "-" ]; then
		ratio="$(awk -v a="$lms" -v b="$tms" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
	fi
	case "$lms" in failed:*) lms_col="$lms" ;; *) lms_col="$(printf '%14s' "$lms")" ;; esac
	printf '%-28s %-9s %s %10s %14s %12s\n' "$model" "$prec" "$lms_col" "$comp" "${tms:0:40}" "$ratio"
done <"$ROWS"
exit "$FAILED"
