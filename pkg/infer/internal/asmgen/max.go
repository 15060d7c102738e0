package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// maxKernel writes maxF32AVX2: dst[i] = max(a[i], b[i]) for n (a multiple
// of 8) float32 values, a NaN in either giving NaN as max-pooling must
// (GoMLX's ReduceMax propagates it). VMAXPS returns its second source
// when either is NaN, which covers b; a's NaN lanes are blended back in.
// dst may be a (in place).
func maxKernel() {
	binaryLoop("maxF32AVX2", "func(dst, a, b *float32, n int)",
		"maxF32AVX2 writes the NaN-propagating maximum of a and b into dst, n a multiple of 8 (see max.go in package asmgen).",
		func(dst, a, b Register) {
			x, y, nan := YMM(), YMM(), YMM()
			VMOVUPS(Mem{Base: a}, x)
			VMOVUPS(Mem{Base: b}, y)
			VCMPPS(U8(3), x, x, nan) // UNORD_Q: all ones where a is NaN
			VMAXPS(y, x, y)          // x > y ? x : y (y on NaN)
			VBLENDVPS(nan, x, y, y)  // a's NaN where it was one
			VMOVUPS(y, Mem{Base: dst})
		})
}

// maxIntKernel writes maxI32AVX2: dst[i] = max(a[i], b[i]) for n (a
// multiple of 8) int32 values: an int8 convolution max-pools its integer
// sums before requantizing them. dst may be a (in place).
func maxIntKernel() {
	binaryLoop("maxI32AVX2", "func(dst, a, b *int32, n int)",
		"maxI32AVX2 writes the maximum of a and b into dst, n a multiple of 8 (see max.go in package asmgen).",
		func(dst, a, b Register) {
			x := YMM()
			VMOVDQU(Mem{Base: a}, x)
			VPMAXSD(Mem{Base: b}, x, x)
			VMOVDQU(x, Mem{Base: dst})
		})
}

// binaryLoop writes a kernel over n (a multiple of 8) 32-bit values of
// dst, a and b, eight a step; step computes one from the three pointers.
func binaryLoop(name, signature, doc string, step func(dst, a, b Register)) {
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
	Doc(doc)
	dst := Load(Param("dst"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	SHRQ(U8(3), n)
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	step(dst, a, b)
	for _, p := range []Register{dst, a, b} {
		ADDQ(U32(32), p)
	}
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// normalizeKernel writes normalizeF32AVX2: dst[i] = (src[i] − mean)·inv for n
// (a multiple of 8) float32 values, a subtraction then a multiplication
// rounded as Go's scalar loop rounds them (no fused multiply-add).
func normalizeKernel() {
	TEXT("normalizeF32AVX2", NOSPLIT, "func(dst, src *float32, n int, mean, inv float32)")
	Pragma("noescape")
	Doc("normalizeF32AVX2 writes (src[i] − mean)·inv into dst, n a multiple of 8 (see max.go in package asmgen).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	mean, inv := YMM(), YMM()
	// From memory: a legacy-SSE MOVSS load here cost an SSE/AVX transition
	// (see quantizeKernel).
	VBROADCASTSS(paramAddr("mean"), mean)
	VBROADCASTSS(paramAddr("inv"), inv)
	SHRQ(U8(3), n)
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	x := YMM()
	VMOVUPS(Mem{Base: src}, x)
	VSUBPS(mean, x, x)
	VMULPS(inv, x, x)
	VMOVUPS(x, Mem{Base: dst})
	ADDQ(U32(32), dst)
	ADDQ(U32(32), src)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// paramAddr is the memory operand of a scalar argument, for an instruction
// that reads it from memory (VBROADCASTSS, VPBROADCASTD) rather than
// through avo's Load, which moves floats with the legacy-SSE MOVSS.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
