// Command asmgen writes the infer package's SIMD micro-kernels in Go
// assembly with avo (github.com/mmcloughlin/avo):
//
//	go generate ./pkg/infer   (runs: go run ./internal/asmgen -out gemm_amd64.s -stubs gemm_amd64.go -tables kernel_tables_amd64.go -pkg infer)
//
// Besides the assembly and its Go declarations it writes, with -tables, one
// slice per kernel family (microAVX512, convAVX512Narrow, int8VNNI, ...)
// holding the family's kernels for 1, 2, ... rows, for simdKernels.
//
// Each kernel computes an r×nr block of C = A·B + bias for one packed panel
// of B (k rows of nr floats): the accumulators start at the bias (plus C
// when flags&2), every step of k broadcasts one value of each of the r rows
// of A and multiplies it into the panel's row with FMAs, and the result
// goes through max(0, ·) when flags&1 (NaN passes, as in GoMLX's Max).
// AVX-512 kernels take r ≤ 8 rows of 32 columns (16 accumulators of 32
// registers), AVX2 ones r ≤ 6 rows of 16 (12 of 16 registers).
package main

import (
	"flag"
	"fmt"
	"log"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

const signature = "func(k int, a *float32, lda int, b *float32, bias *float32, c *float32, ldc int, flags int, delta *int)"

// isa is one kernel family: an instruction set, its vector width and
// register maker, and how many vectors wide a panel is.
type isa struct {
	name    string
	maxRows int
	vecs    int // vectors per panel row
	bytes   int // bytes per vector
	reg     func() VecVirtual
	// bcst: the FMAs take A's value straight from memory, broadcast
	// (AVX-512's embedded broadcast): one instruction instead of a
	// broadcast and an FMA, for panels one vector wide.
	bcst bool
}

func main() {
	flag.Parse()
	ConstraintExpr("amd64")
	for _, s := range []isa{
		{name: "AVX512", maxRows: 8, vecs: 2, bytes: 64, reg: ZMM},
		{name: "AVX512Narrow", maxRows: 12, vecs: 1, bytes: 64, reg: ZMM, bcst: true},
		{name: "AVX2", maxRows: 6, vecs: 2, bytes: 32, reg: YMM},
		{name: "AVX2Narrow", maxRows: 12, vecs: 1, bytes: 32, reg: YMM},
	} {
		for _, implicit := range []bool{false, true} {
			for rows := 1; rows <= s.maxRows; rows++ {
				kernel(s, rows, implicit)
			}
		}
	}
	int8Kernels()
	quantizeKernel()
	requantKernels()
	maxKernel()
	maxIntKernel()
	winoInputKernel()
	winoOutputKernel()
	normalizeKernel()
	Generate() // exits on failure, before the tables are written
	if err := writeTables(); err != nil {
		log.Fatal(err)
	}
}

// kernel writes one micro-kernel. An implicit one reads A without im2col:
// the r rows are lda bytes apart as before, but after each step of k the
// row pointers move by delta[step] bytes (a convolution's patch, read in
// place from the image), instead of by one float.
func kernel(s isa, rows int, implicit bool) {
	family := "micro" + s.name
	if implicit {
		family = "conv" + s.name
	}
	name := kernelName(family, "microKernel", rows)
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d×%d block (see package asmgen).", name, rows, s.vecs*s.bytes/4))
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	b := Load(Param("b"), GP64())
	bias := Load(Param("bias"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	flags := Load(Param("flags"), GP64())
	var delta Register
	if implicit {
		delta = Load(Param("delta"), GP64())
	}
	SHLQ(U8(2), lda)
	SHLQ(U8(2), ldc)

	acc := make([][]VecVirtual, rows)
	for r := range acc {
		for j := 0; j < s.vecs; j++ {
			acc[r] = append(acc[r], s.reg())
			VMOVUPS(Mem{Base: bias, Disp: j * s.bytes}, acc[r][j])
		}
	}

	Comment("flags&2: add C's values")
	TESTQ(U32(2), flags)
	JZ(LabelRef("products"))
	row := GP64()
	MOVQ(c, row)
	for r := 0; r < rows; r++ {
		for j := 0; j < s.vecs; j++ {
			VADDPS(Mem{Base: row, Disp: j * s.bytes}, acc[r][j], acc[r][j])
		}
		if r < rows-1 {
			ADDQ(ldc, row)
		}
	}

	Label("products")
	// Rows 0-3 are a, a+lda, a+2·lda, a+3·lda; rows 4-7 the same from
	// a+4·lda, rows 8-11 from a+8·lda.
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
		r %= 4
		switch r {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: lda, Scale: 1}
		case 2:
			return Mem{Base: base, Index: lda, Scale: 2}
		}
		return Mem{Base: base, Index: lda3, Scale: 1}
	}
	TESTQ(k, k)
	JZ(LabelRef("done"))
	Label("loop")
	bv := make([]VecVirtual, s.vecs)
	for j := range bv {
		bv[j] = s.reg()
		VMOVUPS(Mem{Base: b, Disp: j * s.bytes}, bv[j])
	}
	for r := 0; r < rows; r++ {
		if s.bcst {
			VFMADD231PS_BCST(rowOf(r), bv[0], acc[r][0])
			continue
		}
		t := s.reg()
		VBROADCASTSS(rowOf(r), t)
		for j := range bv {
			VFMADD231PS(bv[j], t, acc[r][j])
		}
	}
	if implicit {
		step := GP64()
		MOVQ(Mem{Base: delta}, step)
		for _, p := range bases {
			ADDQ(step, p)
		}
		ADDQ(U32(8), delta)
	} else {
		for _, p := range bases {
			ADDQ(U32(4), p)
		}
	}
	ADDQ(U32(s.vecs*s.bytes), b)
	DECQ(k)
	JNZ(LabelRef("loop"))

	Label("done")
	Comment("flags&1: ReLU")
	TESTQ(U32(1), flags)
	JZ(LabelRef("store"))
	zero := s.reg()
	VXORPS(zero, zero, zero)
	for r := range acc {
		for j := range acc[r] {
			VMAXPS(acc[r][j], zero, acc[r][j]) // max(0, x): x is the source returned on NaN
		}
	}

	Label("store")
	for r := 0; r < rows; r++ {
		for j := 0; j < s.vecs; j++ {
			VMOVUPS(acc[r][j], Mem{Base: c, Disp: j * s.bytes})
		}
		if r < rows-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}
