# Sourced by setup.sh, test.sh, .ci/run and the benchmark scripts: the Go
# settings under which Lathe trains on compute's SIMD kernels.
#
# github.com/gomlx/compute (the backend Lathe trains on) has AVX-512/AVX2
# kernels only in binaries built by Go 1.27+ with GOEXPERIMENT=simd; without
# them training runs 5–20× slower. GOTOOLCHAIN makes any Go ≥ 1.21 fetch Go
# 1.27.3 from the module proxy once (~10 s) and use it; a Go that is already
# 1.27 or newer is used as it is. Both stay set for what runs after (GoNB
# kernels started by the tests build notebook cells with the same settings).
LATHE_GO_TOOLCHAIN=go1.27.3
if [ -z "${GOTOOLCHAIN:-}" ]; then
	local_go="$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null || echo go0)"
	case "$local_go" in
	go1.2[7-9]* | go1.[3-9][0-9]*) ;;
	*) export GOTOOLCHAIN="$LATHE_GO_TOOLCHAIN" ;;
	esac
fi
case ",${GOEXPERIMENT:-}," in
*,simd,*) ;;
*) export GOEXPERIMENT="${GOEXPERIMENT:+$GOEXPERIMENT,}simd" ;;
esac
