package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The transforms of Winograd's F(2×2, 3×3) convolution (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016), sixteen
// channels (one ZMM register) at a time: the runtime multiplies the
// transformed input tiles by the transformed filters with the GEMM
// kernels, sixteen products in between.

// winoInputKernel writes winoInputAVX512: for one 4×4 input tile d (pixel
// (i, j) at src + i·rowStride + j·colStride bytes), V = Bᵀ·d·B with
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],
//
// element (i, j) of V going to dst + (4i+j)·xiStride bytes; over blocks
// blocks of 16 channels (src and dst step 64 bytes a block).
func winoInputKernel() {
	TEXT("winoInputAVX512", NOSPLIT, "func(src *float32, rowStride, colStride int, dst *float32, xiStride, blocks int)")
	Pragma("noescape")
	Doc("winoInputAVX512 writes Winograd F(2×2,3×3) input transforms, 16 channels a block (see wino.go in package asmgen).")
	src := Load(Param("src"), GP64())
	rowStride := Load(Param("rowStride"), GP64())
	colStride := Load(Param("colStride"), GP64())
	dst := Load(Param("dst"), GP64())
	xiStride := Load(Param("xiStride"), GP64())
	blocks := Load(Param("blocks"), GP64())
	TESTQ(blocks, blocks)
	JZ(LabelRef("done"))
	Label("loop")
	// rows[i] points at row i of the tile, this block.
	var rows [4]Register
	rows[0] = GP64()
	MOVQ(src, rows[0])
	for i := 1; i < 4; i++ {
		rows[i] = GP64()
		LEAQ(Mem{Base: rows[i-1], Index: rowStride, Scale: 1}, rows[i])
	}
	col3 := GP64()
	LEAQ(Mem{Base: colStride, Index: colStride, Scale: 2}, col3)
	at := func(r Register, j int) Mem {
		switch j {
		case 0:
			return Mem{Base: r}
		case 1:
			return Mem{Base: r, Index: colStride, Scale: 1}
		case 2:
			return Mem{Base: r, Index: colStride, Scale: 2}
		}
		return Mem{Base: r, Index: col3, Scale: 1}
	}
	// Bᵀ·d, a column at a time: t[i][j].
	var t [4][4]VecVirtual
	for j := 0; j < 4; j++ {
		var d [4]VecVirtual
		for i := 0; i < 4; i++ {
			d[i] = ZMM()
			VMOVUPS(at(rows[i], j), d[i])
		}
		t[0][j], t[1][j], t[2][j], t[3][j] = ZMM(), ZMM(), ZMM(), ZMM()
		VSUBPS(d[2], d[0], t[0][j]) // d0 − d2
		VADDPS(d[2], d[1], t[1][j]) // d1 + d2
		VSUBPS(d[1], d[2], t[2][j]) // d2 − d1
		VSUBPS(d[3], d[1], t[3][j]) // d1 − d3
	}
	// (Bᵀ·d)·B, a row at a time, stored as it is made.
	out := GP64()
	MOVQ(dst, out)
	for i := 0; i < 4; i++ {
		r := t[i]
		v := [4]VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
		VSUBPS(r[2], r[0], v[0])
		VADDPS(r[2], r[1], v[1])
		VSUBPS(r[1], r[2], v[2])
		VSUBPS(r[3], r[1], v[3])
		for j := 0; j < 4; j++ {
			VMOVUPS(v[j], Mem{Base: out})
			ADDQ(xiStride, out)
		}
	}
	ADDQ(U32(64), src)
	ADDQ(U32(64), dst)
	DECQ(blocks)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// winoOutputKernel writes winoOutputAVX512: for one tile's sixteen
// products m (element ξ at m + ξ·xiStride bytes), Y = Aᵀ·m·A with
//
//	Aᵀ = [1 1 1 0; 0 1 −1 −1],
//
// plus bias, plus the residual (flags&2: res laid out as dst), then
// max(·, 0) (flags&1), output (i, j) going to dst + i·rowStride +
// j·colStride bytes; over blocks blocks of 16 channels (m, bias, res
// and dst step 64 bytes a block).
func winoOutputKernel() {
	TEXT("winoOutputAVX512", NOSPLIT, "func(m *float32, xiStride int, bias, res, dst *float32, rowStride, colStride, blocks, flags int)")
	Pragma("noescape")
	Doc("winoOutputAVX512 writes Winograd F(2×2,3×3) output transforms with bias, residual and ReLU, 16 channels a block (see wino.go in package asmgen).")
	m := Load(Param("m"), GP64())
	xiStride := Load(Param("xiStride"), GP64())
	bias := Load(Param("bias"), GP64())
	res := Load(Param("res"), GP64())
	dst := Load(Param("dst"), GP64())
	rowStride := Load(Param("rowStride"), GP64())
	colStride := Load(Param("colStride"), GP64())
	blocks := Load(Param("blocks"), GP64())
	flags := Load(Param("flags"), GP64())
	TESTQ(blocks, blocks)
	JZ(LabelRef("done"))
	Label("loop")
	// Aᵀ·m, a column at a time: t[0][j] = m0j + m1j + m2j, t[1][j] = m1j − m2j − m3j.
	p := GP64()
	MOVQ(m, p)
	var mv [4][4]VecVirtual
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			mv[i][j] = ZMM()
			VMOVUPS(Mem{Base: p}, mv[i][j])
			ADDQ(xiStride, p)
		}
	}
	var t [2][4]VecVirtual
	for j := 0; j < 4; j++ {
		t[0][j], t[1][j] = ZMM(), ZMM()
		VADDPS(mv[1][j], mv[0][j], t[0][j])
		VADDPS(mv[2][j], t[0][j], t[0][j])
		VSUBPS(mv[2][j], mv[1][j], t[1][j])
		VSUBPS(mv[3][j], t[1][j], t[1][j])
	}
	b := ZMM()
	VMOVUPS(Mem{Base: bias}, b)
	var y [2][2]VecVirtual
	for i := 0; i < 2; i++ {
		r := t[i]
		y[i][0], y[i][1] = ZMM(), ZMM()
		VADDPS(r[1], r[0], y[i][0])
		VADDPS(r[2], y[i][0], y[i][0])
		VADDPS(b, y[i][0], y[i][0])
		VSUBPS(r[2], r[1], y[i][1])
		VSUBPS(r[3], y[i][1], y[i][1])
		VADDPS(b, y[i][1], y[i][1])
	}
	at := func(base Register, i, j int) Mem {
		m := Mem{Base: base}
		if i == 1 {
			m.Index, m.Scale = rowStride, 1
		}
		return m
	}
	// Output (i, j): row i from base (+rowStride), column j by colStride.
	rowBase := func(base Register, j int) Register {
		r := GP64()
		MOVQ(base, r)
		if j == 1 {
			ADDQ(colStride, r)
		}
		return r
	}
	Comment("flags&2: add the residual")
	TESTQ(U32(2), flags)
	JZ(LabelRef("relu"))
	for j := 0; j < 2; j++ {
		r := rowBase(res, j)
		for i := 0; i < 2; i++ {
			VADDPS(at(r, i, j), y[i][j], y[i][j])
		}
	}
	Label("relu")
	Comment("flags&1: ReLU")
	TESTQ(U32(1), flags)
	JZ(LabelRef("store"))
	zero := ZMM()
	VXORPS(zero, zero, zero)
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			VMAXPS(y[i][j], zero, y[i][j]) // max(0, x): x is the source returned on NaN
		}
	}
	Label("store")
	for j := 0; j < 2; j++ {
		r := rowBase(dst, j)
		for i := 0; i < 2; i++ {
			VMOVUPS(y[i][j], at(r, i, j))
		}
	}
	for _, q := range []Register{m, bias, res, dst} {
		ADDQ(U32(64), q)
	}
	DECQ(blocks)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}
