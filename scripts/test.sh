#!/usr/bin/env bash
# Runs Lathe's tests with the Go settings of scripts/goenv.sh (Go 1.27,
# GOEXPERIMENT=simd), the ones setup.sh builds bin/lathe with. Arguments go
# to `go test` (default: every package).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh
[ $# -gt 0 ] || set -- ./...
exec go test -timeout 30m "$@"
