package infer

//go:generate go run ./internal/asmgen -out gemm_amd64.s -stubs gemm_amd64.go -pkg infer

import "golang.org/x/sys/cpu"

// simdKernels lists the assembly kernel sets this CPU (and its OS, which
// must save the wide registers) can run, best first.
func simdKernels() []*kernels {
	var out []*kernels
	madd := &int8Kernels{name: "avx2",
		wide:   &int8Family{mr: 4, nr: 16, micro: []int8Kernel{int8MADD_1, int8MADD_2, int8MADD_3, int8MADD_4}},
		narrow: &int8Family{mr: 8, nr: 8, micro: []int8Kernel{int8MADDNarrow_1, int8MADDNarrow_2, int8MADDNarrow_3, int8MADDNarrow_4, int8MADDNarrow_5, int8MADDNarrow_6, int8MADDNarrow_7, int8MADDNarrow_8}}}
	withAVX2Epilogues(madd)
	if cpu.X86.HasAVX512F {
		integer := madd
		if cpu.X86.HasAVX512VNNI {
			integer = &int8Kernels{name: "avx512vnni",
				wide: &int8Family{mr: 8, nr: 32, micro: []int8Kernel{int8VNNI_1, int8VNNI_2, int8VNNI_3, int8VNNI_4, int8VNNI_5, int8VNNI_6, int8VNNI_7, int8VNNI_8}},
				narrow: &int8Family{mr: 12, nr: 16, micro: []int8Kernel{int8VNNINarrow_1, int8VNNINarrow_2, int8VNNINarrow_3, int8VNNINarrow_4, int8VNNINarrow_5, int8VNNINarrow_6,
					int8VNNINarrow_7, int8VNNINarrow_8, int8VNNINarrow_9, int8VNNINarrow_10, int8VNNINarrow_11, int8VNNINarrow_12}}}
			withAVX2Epilogues(integer)
		}
		out = append(out, &kernels{name: "avx512", int8: integer, max: maxAVX2, normalize: normalizeAVX2,
			wide: family{mr: 8, nr: 32,
				micro:    []microKernel{microAVX512_1, microAVX512_2, microAVX512_3, microAVX512_4, microAVX512_5, microAVX512_6, microAVX512_7, microAVX512_8},
				implicit: []microKernel{convAVX512_1, convAVX512_2, convAVX512_3, convAVX512_4, convAVX512_5, convAVX512_6, convAVX512_7, convAVX512_8}},
			narrow: family{mr: 12, nr: 16,
				micro: []microKernel{microAVX512Narrow_1, microAVX512Narrow_2, microAVX512Narrow_3, microAVX512Narrow_4, microAVX512Narrow_5, microAVX512Narrow_6,
					microAVX512Narrow_7, microAVX512Narrow_8, microAVX512Narrow_9, microAVX512Narrow_10, microAVX512Narrow_11, microAVX512Narrow_12},
				implicit: []microKernel{convAVX512Narrow_1, convAVX512Narrow_2, convAVX512Narrow_3, convAVX512Narrow_4, convAVX512Narrow_5, convAVX512Narrow_6,
					convAVX512Narrow_7, convAVX512Narrow_8, convAVX512Narrow_9, convAVX512Narrow_10, convAVX512Narrow_11, convAVX512Narrow_12}}})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		out = append(out, &kernels{name: "avx2", int8: madd, max: maxAVX2, normalize: normalizeAVX2,
			wide: family{mr: 6, nr: 16,
				micro:    []microKernel{microAVX2_1, microAVX2_2, microAVX2_3, microAVX2_4, microAVX2_5, microAVX2_6},
				implicit: []microKernel{convAVX2_1, convAVX2_2, convAVX2_3, convAVX2_4, convAVX2_5, convAVX2_6}},
			narrow: family{mr: 12, nr: 8,
				micro: []microKernel{microAVX2Narrow_1, microAVX2Narrow_2, microAVX2Narrow_3, microAVX2Narrow_4, microAVX2Narrow_5, microAVX2Narrow_6,
					microAVX2Narrow_7, microAVX2Narrow_8, microAVX2Narrow_9, microAVX2Narrow_10, microAVX2Narrow_11, microAVX2Narrow_12},
				implicit: []microKernel{convAVX2Narrow_1, convAVX2Narrow_2, convAVX2Narrow_3, convAVX2Narrow_4, convAVX2Narrow_5, convAVX2Narrow_6,
					convAVX2Narrow_7, convAVX2Narrow_8, convAVX2Narrow_9, convAVX2Narrow_10, convAVX2Narrow_11, convAVX2Narrow_12}}})
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

// normalizeAVX2 is normalizeRow, eight values at a time.
func normalizeAVX2(dst, src []float32, mean, inv float32) {
	n := len(src) &^ 7
	if n > 0 {
		_ = dst[n-1]
		normalizeF32AVX2(&dst[0], &src[0], n, mean, inv)
	}
	normalizeRow(dst[n:len(src)], src[n:], mean, inv)
}
