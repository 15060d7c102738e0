#!/usr/bin/env bash
# Runs Lathe's tests with the Go settings of scripts/goenv.sh (Go 1.27,
# GOEXPERIMENT=simd), the ones setup.sh builds bin/lathe with. Arguments go
# to `go test` (default: every package).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh
# Test binaries and the notebooks' cells (GoNB links one binary per cell
# run) link without DWARF: half the link time (5.4 → 3.0 s a cell here),
# and tests need no debugger.
case " ${GOFLAGS:-} " in
*" -ldflags="*) ;;
*) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-ldflags=-w" ;;
esac
[ $# -gt 0 ] || set -- ./...
exec go test -timeout 30m "$@"
