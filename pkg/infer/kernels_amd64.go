package infer

//go:generate go run ./internal/asmgen -out gemm_amd64.s -stubs gemm_amd64.go -tables kernel_tables_amd64.go -pkg infer

import "golang.org/x/sys/cpu"

// simdKernels lists the assembly kernel sets this CPU (and its OS, which
// must save the wide registers) can run, best first. The kernel tables
// (microAVX512, int8VNNI, ...) are generated with the kernels, in
// kernel_tables_amd64.go.
func simdKernels() []*kernels {
	var out []*kernels
	madd := &int8Kernels{name: "avx2",
		wide:   &int8Family{mr: 4, nr: 16, micro: int8MADD},
		narrow: &int8Family{mr: 8, nr: 8, micro: int8MADDNarrow}}
	withAVX2Epilogues(madd)
	if cpu.X86.HasAVX512F {
		integer := madd
		if cpu.X86.HasAVX512VNNI {
			integer = &int8Kernels{name: "avx512vnni",
				wide:   &int8Family{mr: 8, nr: 32, micro: int8VNNI},
				narrow: &int8Family{mr: 12, nr: 16, micro: int8VNNINarrow}}
			withAVX2Epilogues(integer)
		}
		out = append(out, &kernels{name: "avx512", int8: integer, max: maxAVX2, maxInt: maxIntAVX2, normalize: normalizeAVX2,
			winoInput: winoInputAVX512, winoOutput: winoOutputAVX512,
			wide:   family{mr: 8, nr: 32, micro: microAVX512, implicit: convAVX512},
			narrow: family{mr: 12, nr: 16, micro: microAVX512Narrow, implicit: convAVX512Narrow}})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		out = append(out, &kernels{name: "avx2", int8: madd, max: maxAVX2, maxInt: maxIntAVX2, normalize: normalizeAVX2,
			wide:   family{mr: 6, nr: 16, micro: microAVX2, implicit: convAVX2},
			narrow: family{mr: 12, nr: 8, micro: microAVX2Narrow, implicit: convAVX2Narrow}})
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

// withAVX2Epilogues gives both families of ks the AVX2 quantize and
// requantize loops (every CPU with these integer kernels has AVX2).
func withAVX2Epilogues(ks *int8Kernels) {
	for _, f := range []*int8Family{ks.wide, ks.narrow} {
		f.quantize, f.requant = quantizeAVX2, requantAVX2Rows
	}
}

// quantizeAVX2 is quantizeRow, eight values at a time.
func quantizeAVX2(dst []uint8, src []float32, scale float32, zero int32) {
	n := len(src) &^ 7
	if n > 0 {
		_ = dst[n-1]
		quantizeU8AVX2(&dst[0], &src[0], n, scale, zero)
	}
	quantizeRow(dst[n:len(src)], src[n:], scale, zero)
}

// requantAVX2Rows is requantRow, eight outputs at a time.
func requantAVX2Rows(out []float32, acc []int32, scale []float32, offset []int32, relu bool) {
	n := len(out) &^ 7
	if n > 0 {
		_, _, _ = acc[n-1], scale[n-1], offset[n-1]
		if relu {
			requantReluAVX2(&out[0], &acc[0], &scale[0], &offset[0], n)
		} else {
			requantAVX2(&out[0], &acc[0], &scale[0], &offset[0], n)
		}
	}
	requantRow(out[n:], acc[n:len(out)], scale[n:len(out)], offset[n:len(out)], relu)
}

// maxAVX2 is maxRow, eight values at a time.
func maxAVX2(dst, a, b []float32) {
	n := len(dst) &^ 7
	if n > 0 {
		_, _ = a[n-1], b[n-1]
		maxF32AVX2(&dst[0], &a[0], &b[0], n)
	}
	maxRow(dst[n:], a[n:], b[n:])
}

// maxIntAVX2 is maxIntRow, eight values at a time.
func maxIntAVX2(dst, a, b []int32) {
	n := len(dst) &^ 7
	if n > 0 {
		_, _ = a[n-1], b[n-1]
		maxI32AVX2(&dst[0], &a[0], &b[0], n)
	}
	maxIntRow(dst[n:], a[n:], b[n:])
}

// normalizeAVX2 is normalizeRow, eight values at a time.
func normalizeAVX2(dst, src []float32, mean, inv float32) {
	n := len(src) &^ 7
	if n > 0 {
		_ = dst[n-1]
		normalizeF32AVX2(&dst[0], &src[0], n, mean, inv)
	}
	normalizeRow(dst[n:len(src)], src[n:], mean, inv)
}
