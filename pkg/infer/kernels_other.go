//go:build !amd64

package infer

func simdKernels() []*kernels { return nil }

func cpuFeatures() []string { return nil }
