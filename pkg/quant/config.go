package quant

import "fmt"

// Config says which integer grid values are mapped onto. The zero value is
// not valid: Bits must be set.
type Config struct {
	// Bits is the width of a quantized value: 8 (int8/uint8 kernels) or 4
	// (packed two per byte, see PackInt4).
	Bits int
	// Symmetric forces the zero point to the middle of the grid (0 for
	// signed), PyTorch's per_tensor_symmetric / per_channel_symmetric. It
	// is what int8 weight kernels want: no zero-point correction terms.
	Symmetric bool
	// NarrowRange drops the most negative signed value, [-127, 127] rather
	// than [-128, 127] for 8 bits, so that the grid is symmetric around 0
	// and -x is representable whenever x is. Signed grids only.
	NarrowRange bool
	// Unsigned uses [0, 2^Bits-1] (PyTorch's quint8), which suits
	// activations after a ReLU, where nothing is negative.
	Unsigned bool
	// ReduceRange gives up the top bit: [0, 127] for unsigned 8 bits,
	// [-64, 63] for signed. PyTorch's reduce_range, for fbgemm's reason:
	// VPMADDUBSW adds two uint8×int8 products into an int16, which 255·127·2
	// overflows and 127·127·2 does not, so lathe's AVX2 int8 kernels are
	// exact only for 7-bit activations. The grid is half as fine.
	ReduceRange bool
}

// Range returns the integer grid [qmin, qmax] of c. It is meaningful for a
// Config that passes Validate; for widths outside [2, 16] it returns (0, 0)
// rather than overflowing.
func (c Config) Range() (qmin, qmax int32) {
	if c.Bits < 2 || c.Bits > 16 {
		return 0, 0
	}
	bits := c.Bits
	if c.ReduceRange {
		bits--
	}
	if c.Unsigned {
		return 0, int32(1)<<bits - 1
	}
	half := int32(1) << (bits - 1)
	if c.NarrowRange {
		return -(half - 1), half - 1
	}
	return -half, half - 1
}

// Validate reports why c cannot be used, or nil.
func (c Config) Validate() error {
	if c.Bits != 8 && c.Bits != 4 {
		return fmt.Errorf("bits %d: want 8 or 4", c.Bits)
	}
	if c.Unsigned && c.NarrowRange {
		// PyTorch has no narrow unsigned grid, and TensorFlow's ([1, 255])
		// would be a surprise to someone reading PyTorch's numbers.
		return fmt.Errorf("narrow range applies to signed grids, not unsigned")
	}
	return nil
}

// String names the grid the way PyTorch users read it, e.g.
// "int8 symmetric narrow [-127, 127]".
func (c Config) String() string {
	kind := "int"
	if c.Unsigned {
		kind = "uint"
	}
	scheme := "affine"
	if c.Symmetric {
		scheme = "symmetric"
	}
	if c.NarrowRange {
		scheme += " narrow"
	}
	if c.ReduceRange {
		scheme += " reduced"
	}
	qmin, qmax := c.Range()
	return fmt.Sprintf("%s%d %s [%d, %d]", kind, c.Bits, scheme, qmin, qmax)
}
