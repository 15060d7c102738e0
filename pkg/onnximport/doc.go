// Package onnximport brings a classifier trained elsewhere — PyTorch,
// through torch.onnx.export — into Lathe: it reads the ONNX file and
// returns the net as a spec.Net with its weights laid out as Lathe's
// variables, so that every technique (fine-tuning, pruning, structured
// pruning, QAT and PTQ, distillation, export, the runtime) works on it as
// on a zoo model.
//
// The net is translated op by op rather than run as a generic ONNX graph:
// Lathe's techniques work on its own layers (dense, convolution, pooling,
// residual blocks), not on arbitrary graphs. What translates:
//
//   - Conv (group 1, no dilation, square kernel and stride; pads that are
//     "same" or "valid" as Lathe pads them) with its bias; a
//     BatchNormalization right after it is folded into its weights.
//   - Gemm, and MatMul followed by Add of a constant: a dense layer.
//   - Relu, Sigmoid, Tanh, and LeakyRelu with alpha 0.3, after a layer.
//   - MaxPool with window = stride and no padding; GlobalAveragePool (and
//     an AveragePool or ReduceMean that covers the whole image).
//   - Flatten, and Reshape to [batch, -1].
//   - Add of two branches that start from one value: a residual block.
//   - Dropout and Identity pass; a final Softmax or LogSoftmax is dropped
//     (neither changes which class wins, and Lathe trains on logits).
//
// Anything else is refused in one error that names every such op and its
// node. The file's layout is PyTorch's, NCHW; Lathe's is NHWC: filters are
// transposed, and the first dense layer after a flatten has its rows
// reordered, so the imported net computes the same logits on the same
// images.
//
// Example:
//
//	m, err := onnximport.Load("cnn.onnx") // registers arch "onnx-cnn"
//	if err != nil {
//		return err
//	}
//	fmt.Println(m.Arch, m.Example, m.Classes)
//
// A recipe names the file instead of an arch: model: {onnx: cnn.onnx}.
package onnximport
