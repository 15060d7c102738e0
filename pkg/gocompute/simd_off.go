//go:build !((amd64 || arm64) && goexperiment.simd && go1.27)

package gocompute

// SIMDBuilt says this binary holds compute's SIMD kernels. It does not:
// it was built without GOEXPERIMENT=simd or with a Go older than 1.27, so
// compute runs its portable Go kernels (about GoMLX's pure-Go speed).
const SIMDBuilt = false
