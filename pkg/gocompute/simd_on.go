//go:build (amd64 || arm64) && goexperiment.simd && go1.27

package gocompute

// SIMDBuilt says this binary holds compute's SIMD kernels (built with Go
// 1.27+ and GOEXPERIMENT=simd for amd64 or arm64). Whether they run also
// depends on the CPU: see Backend.Kernels.
const SIMDBuilt = true
