package main

import (
	"fmt"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The integer kernels compute an r×nr block of C = A·B in int32, exactly:
// A is uint8 activations (row stride lda bytes), B one packed panel of int8
// weights in groups of 4 along k ([k/4][nr][4] bytes), C int32 (row stride
// ldc elements), overwritten. Zero points, scales, bias and activation are
// applied by the caller. k4 is k/4 (the caller pads k to a multiple of 4
// with zeros in both A and B). The sum runs over taps such products, A
// moving on by tapStride bytes and B by its k4 groups for each: a
// convolution's kernel rows, whose patches lie one image row apart, in one
// call (taps 1 is a plain GEMM). Only the first cols columns of the block
// are stored (cols ≥ nr: all).
//
// VNNI: VPDPBUSD multiplies 4 unsigned bytes of A by 4 signed bytes of B
// and adds their sum to each int32 lane: 64 products per instruction,
// exact. AVX2: VPMADDUBSW multiplies the same bytes and adds pairs into
// int16 — exact only while a pair sum fits, which holds for activations
// in [0, 127] (2·127·127 < 2^15; fbgemm's "reduce_range") — then VPMADDWD
// by ones adds the pairs into int32.
const int8Signature = "func(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int, taps int, tapStride int, cols int)"

// int8Kernels writes, per instruction set, a wide family (two vectors of
// columns) and a narrow one (one vector: layers of 16 or 8 outputs or
// fewer, such as LeNet-5's convolutions, would waste most of a wide panel).
func int8Kernels() {
	iotaData()
	for rows := 1; rows <= 8; rows++ {
		int8Kernel("VNNI", rows, 2, 64, ZMM)
	}
	for rows := 1; rows <= 12; rows++ {
		int8Kernel("VNNINarrow", rows, 1, 64, ZMM)
	}
	for rows := 1; rows <= 4; rows++ {
		int8Kernel("MADD", rows, 2, 32, YMM)
	}
	for rows := 1; rows <= 8; rows++ {
		int8Kernel("MADDNarrow", rows, 1, 32, YMM)
	}
}

// vpdpbusd emits VPDPBUSD signed, unsigned, acc (Go operand order), which
// avo v0.5.0 does not know; the register allocator is told what it reads
// and writes.
func vpdpbusd(signed, unsigned, acc Op) {
	Instruction(&ir.Instruction{Opcode: "VPDPBUSD", Operands: []Op{signed, unsigned, acc},
		Inputs: []Op{signed, unsigned, acc}, Outputs: []Op{acc}, ISA: []string{"AVX512VNNI"}})
}

func int8Kernel(family string, rows, vecs, bytes int, vreg func() VecVirtual) {
	name := kernelName("int8"+family, "int8Kernel", rows)
	set := strings.TrimSuffix(family, "Narrow")
	TEXT(name, NOSPLIT, int8Signature)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d×%d int32 block of uint8·int8 products (see int8.go in package asmgen).", name, rows, vecs*bytes/4))
	k4 := Load(Param("k4"), GP64())
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	b := Load(Param("b"), GP64())
	taps := Load(Param("taps"), GP64())
	// adj takes A's rows from the end of one tap's groups to the next tap.
	adj := Load(Param("tapStride"), GP64())
	used := GP64()
	MOVQ(k4, used)
	SHLQ(U8(2), used)
	SUBQ(used, adj)

	acc := make([][]VecVirtual, rows)
	for r := range acc {
		for j := 0; j < vecs; j++ {
			v := vreg()
			if set == "VNNI" {
				VPXORD(v, v, v)
			} else {
				VPXOR(v, v, v)
			}
			acc[r] = append(acc[r], v)
		}
	}
	var ones VecVirtual
	if set == "MADD" {
		ones = vreg()
		VPCMPEQW(ones, ones, ones)
		VPSRLW(U8(15), ones, ones) // sixteen int16 ones
	}
	// Row r of A is at a + r·lda: rows 0-3 from a, 4-7 from a+4·lda, 8-11
	// from a+8·lda.
	lda3 := GP64()
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	bases := []Register{a}
	for r := 4; r < rows; r += 4 {
		p := GP64()
		LEAQ(Mem{Base: bases[len(bases)-1], Index: lda, Scale: 4}, p)
		bases = append(bases, p)
	}
	rowOf := func(r int) Mem {
		base := bases[r/4]
		switch r % 4 {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: lda, Scale: 1}
		case 2:
			return Mem{Base: base, Index: lda, Scale: 2}
		}
		return Mem{Base: base, Index: lda3, Scale: 1}
	}
	TESTQ(k4, k4)
	JZ(LabelRef("store"))
	TESTQ(taps, taps)
	JZ(LabelRef("store"))
	g := GP64()
	Label("tap")
	MOVQ(k4, g)
	Label("loop")
	bv := make([]VecVirtual, vecs)
	for j := range bv {
		bv[j] = vreg()
		if set == "VNNI" {
			VMOVDQU64(Mem{Base: b, Disp: j * bytes}, bv[j])
		} else {
			VMOVDQU(Mem{Base: b, Disp: j * bytes}, bv[j])
		}
	}
	for r := 0; r < rows; r++ {
		t := vreg()
		VPBROADCASTD(rowOf(r), t) // A's 4 bytes of this k group, in every lane
		for j := range bv {
			if set == "VNNI" {
				vpdpbusd(bv[j], t, acc[r][j])
				continue
			}
			p := vreg()
			VPMADDUBSW(bv[j], t, p) // u8·s8 pairs → int16
			VPMADDWD(ones, p, p)    // int16 pairs → int32
			VPADDD(p, acc[r][j], acc[r][j])
		}
	}
	for _, p := range bases {
		ADDQ(U32(4), p)
	}
	ADDQ(U32(vecs*bytes), b)
	DECQ(g)
	JNZ(LabelRef("loop"))
	for _, p := range bases {
		ADDQ(adj, p)
	}
	DECQ(taps)
	JNZ(LabelRef("tap"))

	Label("store")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	cols := GP64()
	Load(Param("cols"), cols)
	lanes := bytes / 4
	CMPQ(cols, U32(vecs*lanes))
	JL(LabelRef("partial"))
	for r := 0; r < rows; r++ {
		for j := 0; j < vecs; j++ {
			if set == "VNNI" {
				VMOVDQU64(acc[r][j], Mem{Base: c, Disp: j * bytes})
			} else {
				VMOVDQU(acc[r][j], Mem{Base: c, Disp: j * bytes})
			}
		}
		if r < rows-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()

	// A panel sticking out past the layer's last column: only the first
	// cols lanes are stored, so C needs no room (nor an edge tile) for
	// the rest.
	Label("partial")
	if set == "VNNI" {
		masks := make([]Op, vecs)
		for j := range masks {
			valid := GP64() // lanes of vector j: clamp(cols − 16j, 0, 16)
			MOVQ(cols, valid)
			if j > 0 {
				SUBQ(U32(j*lanes), valid)
				JGE(LabelRef(fmt.Sprintf("valid%d", j)))
				XORQ(valid, valid)
				Label(fmt.Sprintf("valid%d", j))
			}
			bits := GP32()
			MOVL(U32(1<<lanes-1), bits)
			BZHIL(valid.As32(), bits, bits)
			k := K()
			KMOVW(bits, k)
			masks[j] = k
		}
		for r := 0; r < rows; r++ {
			for j := 0; j < vecs; j++ {
				VMOVDQU32(acc[r][j], masks[j], Mem{Base: c, Disp: j * bytes})
			}
			if r < rows-1 {
				ADDQ(ldc, c)
			}
		}
	} else {
		colsv, x := YMM(), XMM()
		VMOVD(cols.As32(), x)
		VPBROADCASTD(x, colsv)
		masks := make([]Op, vecs)
		for j := range masks {
			m := YMM()
			VPCMPGTD(iota.Offset(j*bytes), colsv, m) // cols > lane's column
			masks[j] = m
		}
		for r := 0; r < rows; r++ {
			for j := 0; j < vecs; j++ {
				VPMASKMOVD(acc[r][j], masks[j], Mem{Base: c, Disp: j * bytes})
			}
			if r < rows-1 {
				ADDQ(ldc, c)
			}
		}
	}
	VZEROUPPER()
	RET()
}

// iota is 0, 1, …, 15 as int32: the column of each lane of a panel's two
// AVX2 vectors, for the partial stores' masks.
var iota Mem

func iotaData() {
	iota = GLOBL("int8Iota", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(i))
	}
}

// quantizeKernel writes quantizeU8AVX2, which quantizes n float32 values
// (n a multiple of 8) onto the 7-bit activation grid, exactly as the
// portable quantizeRow: q = clamp(round_half_even(x/scale) + zero, 0, 127),
// NaN → zero. VDIVPS divides as Go's float32 division does, and
// VCVTPS2DQ rounds half to even under the default MXCSR (Go never changes
// it). NaN lanes are zeroed before the conversion (which would make them
// −2³¹), and the quotient is clamped to ±256 so that infinities and huge
// values convert exactly to the ends of the grid.
func quantizeKernel() {
	TEXT("quantizeU8AVX2", NOSPLIT, "func(dst *uint8, src *float32, n int, scale float32, zero int32)")
	Pragma("noescape")
	Doc("quantizeU8AVX2 quantizes n (a multiple of 8) activations onto [0, 127] (see int8.go in package asmgen).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	scale, zero, lo, hi, fmin, fmax := YMM(), YMM(), YMM(), YMM(), YMM(), YMM()
	// Arguments and constants reach the vector registers by VEX moves
	// only: a legacy-SSE MOVSS or MOVD after a VEX instruction has written
	// a Y register costs an SSE/AVX transition on Intel CPUs (~700 ns a
	// call on a Xeon; TestNoLegacySSEInAVXFunctions guards it).
	VBROADCASTSS(paramAddr("scale"), scale)
	// Through a general register: go vet's asmdecl misreads a 4-byte
	// VPBROADCASTD from memory.
	toVector := func(t Register, y VecVirtual) {
		x := XMM()
		VMOVD(t, x)
		VPBROADCASTD(x, y)
	}
	toVector(Load(Param("zero"), GP32()), zero)
	broadcast := func(v uint32, y VecVirtual) {
		t := GP32()
		MOVL(U32(v), t)
		toVector(t, y)
	}
	broadcast(0, lo)
	broadcast(127, hi)
	broadcast(0x43800000, fmax) // 256.0
	broadcast(0xc3800000, fmin) // -256.0
	SHRQ(U8(3), n)
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	x, ok := YMM(), YMM()
	VMOVUPS(Mem{Base: src}, x)
	VCMPPS(U8(0), x, x, ok) // EQ_OQ: all ones where x is not NaN
	VDIVPS(scale, x, x)
	VANDPS(ok, x, x)
	VMINPS(fmax, x, x)
	VMAXPS(fmin, x, x)
	VCVTPS2DQ(x, x)
	VPADDD(zero, x, x)
	VPMAXSD(lo, x, x)
	VPMINSD(hi, x, x)
	high := XMM()
	VEXTRACTI128(U8(1), x, high)
	low := x.AsX()
	VPACKSSDW(high, low, low) // eight int16
	VPACKUSWB(low, low, low)  // eight bytes, twice
	VMOVQ(low, Mem{Base: dst})
	ADDQ(U32(32), src)
	ADDQ(U32(8), dst)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// requantKernels write requantAVX2 and requantReluAVX2: for n (a multiple
// of 8) outputs, out[j] = scale[j]·float32(acc[j] + offset[j]), then
// max(·, 0) for the relu one — the int8 layer's epilogue, rounding as Go's
// int32 → float32 conversion and float32 product do.
func requantKernels() {
	for _, relu := range []bool{false, true} {
		name := "requantAVX2"
		if relu {
			name = "requantReluAVX2"
		}
		TEXT(name, NOSPLIT, "func(out *float32, acc *int32, scale *float32, offset *int32, n int)")
		Pragma("noescape")
		Doc(name + " turns n (a multiple of 8) int32 sums into float32 outputs (see int8.go in package asmgen).")
		out := Load(Param("out"), GP64())
		acc := Load(Param("acc"), GP64())
		scale := Load(Param("scale"), GP64())
		offset := Load(Param("offset"), GP64())
		n := Load(Param("n"), GP64())
		var zero VecVirtual
		if relu {
			zero = YMM()
			VXORPS(zero, zero, zero)
		}
		SHRQ(U8(3), n)
		TESTQ(n, n)
		JZ(LabelRef("done"))
		Label("loop")
		v := YMM()
		VMOVDQU(Mem{Base: acc}, v)
		VPADDD(Mem{Base: offset}, v, v)
		VCVTDQ2PS(v, v)
		VMULPS(Mem{Base: scale}, v, v)
		if relu {
			VMAXPS(zero, v, v)
		}
		VMOVUPS(v, Mem{Base: out})
		for _, p := range []Register{out, acc, scale, offset} {
			ADDQ(U32(32), p)
		}
		DECQ(n)
		JNZ(LabelRef("loop"))
		Label("done")
		VZEROUPPER()
		RET()
	}
}
