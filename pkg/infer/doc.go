// Package infer runs models exported by Lathe — on the CPU, in pure Go
// with its own SIMD kernels, without cgo, XLA or GoMLX: what a Go service
// embeds to serve a model Lathe produced.
//
// A model file is a safetensors file (an 8-byte header length, a JSON
// header, raw little-endian tensors) whose metadata holds the model's
// Graph under "lathe.graph": the ops in order, the input's shape and
// normalization, and the class names, so the file runs without its recipe.
// The reader checks every offset and size against the file before it
// allocates anything, reads only the header and the tensors' bytes, refuses
// anything but a regular file before opening it (a named pipe would block),
// and refuses files of a newer format version. File.NonFinite counts NaN
// and infinite weights, which the reader accepts.
//
// Load plans the model once: batch norm arrives folded into the
// convolutions, each convolution or dense layer runs as one fused step
// (bias, activation and a residual addition in the GEMM's epilogue),
// weights are packed into the panels the micro-kernels read, and the
// activation buffers are laid out and reused. Convolutions read their
// patches straight from the (zero-padded) image, without im2col.
//
// Int8 layers (written by package quant: int8 weights per output channel,
// a 7-bit activation grid, int32 biases) quantize their input, multiply in
// int32 with VPDPBUSD (AVX-512 VNNI) or VPMADDUBSW/VPMADDWD (AVX2), and
// requantize to float32 between layers, so they mix with float ones. An
// int8 convolution sums its kernel rows in one kernel call, packs several
// output pixels into one GEMM row when it has few channels, and max-pools
// its rows as it writes them when a pooling follows.
//
// The micro-kernels are Go assembly generated with avo
// (internal/asmgen): AVX-512 and AVX2+FMA, chosen at run time from the
// CPU's features (golang.org/x/sys/cpu), with a portable Go set used
// elsewhere and forced by Use("portable") or $LATHE_INFER_KERNELS=portable.
// Large ops are split over a fixed set of goroutines; a Model is safe for
// concurrent use, and after the first call of a batch size Predict
// allocates nothing.
//
// Example:
//
//	m, err := infer.Load("model.safetensors")
//	if err != nil { return err }
//	probs := make([]float32, n*m.Classes())
//	err = m.PredictProba(pixels, n, probs) // pixels: n×28×28×1 values in [0, 1]
package infer
