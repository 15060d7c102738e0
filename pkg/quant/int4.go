package quant

import "fmt"

// Int4 values travel two to a byte: value 2i in the low nibble of byte i,
// value 2i+1 in the high nibble (the layout of ONNX's INT4 and of most
// int4 GEMM kernels). An odd count leaves the last high nibble 0.

// PackInt4 packs signed 4-bit values, each in [-8, 7], two per byte. A
// value outside that range is an error naming its index, rather than being
// silently wrapped into a different number.
func PackInt4(q []int8) ([]byte, error) {
	b := make([]byte, (len(q)+1)/2)
	for i, v := range q {
		if v < -8 || v > 7 {
			return nil, fmt.Errorf("int4 value %d at index %d: want [-8, 7]", v, i)
		}
		nibble := byte(v) & 0x0f
		if i%2 == 1 {
			nibble <<= 4
		}
		b[i/2] |= nibble
	}
	return b, nil
}

// UnpackInt4 returns the first n values packed in b, sign-extended back to
// int8. n must fit: 0 ≤ n ≤ 2·len(b).
func UnpackInt4(b []byte, n int) ([]int8, error) {
	if n < 0 || n > 2*len(b) {
		return nil, fmt.Errorf("unpack %d int4 values from %d bytes: want 0 to %d", n, len(b), 2*len(b))
	}
	q := make([]int8, n)
	for i := range q {
		nibble := b[i/2]
		if i%2 == 1 {
			nibble >>= 4
		}
		// Shift the nibble to the top of the byte and back, arithmetically,
		// to copy its sign bit into the upper four bits.
		q[i] = int8(nibble<<4) >> 4
	}
	return q, nil
}
