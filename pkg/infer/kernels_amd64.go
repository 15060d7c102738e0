package infer

//go:generate go run ./internal/asmgen -out gemm_amd64.s -stubs gemm_amd64.go -pkg infer

import "golang.org/x/sys/cpu"

// simdKernels lists the assembly kernel sets this CPU (and its OS, which
// must save the wide registers) can run, best first.
func simdKernels() []*kernels {
	var out []*kernels
	if cpu.X86.HasAVX512F {
		out = append(out, &kernels{name: "avx512", mr: 8, nr: 32, micro: []microKernel{
			microAVX512_1, microAVX512_2, microAVX512_3, microAVX512_4,
			microAVX512_5, microAVX512_6, microAVX512_7, microAVX512_8}})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		out = append(out, &kernels{name: "avx2", mr: 6, nr: 16, micro: []microKernel{
			microAVX2_1, microAVX2_2, microAVX2_3, microAVX2_4, microAVX2_5, microAVX2_6}})
	}
	return out
}

// cpuFeatures names the features the kernels care about, for reports.
func cpuFeatures() []string {
	var f []string
	for _, x := range []struct {
		name string
		has  bool
	}{{"avx512f", cpu.X86.HasAVX512F}, {"avx512vnni", cpu.X86.HasAVX512VNNI}, {"avx2", cpu.X86.HasAVX2}, {"fma", cpu.X86.HasFMA}} {
		if x.has {
			f = append(f, x.name)
		}
	}
	return f
}
