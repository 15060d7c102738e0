// Package ops holds graph operations whose gradients are shaped for speed
// and that differentiate on every GoMLX backend, the pure-Go one included.
//
// GoMLX v0.26.0 differentiates a matmul as broadcast × multiply → reduce-sum,
// which builds a [batch, in, out] temporary: on the pure-Go backend that is
// most of an MLP's training step, and XLA does not rewrite it either.
// MatMul's backward pass is two matmuls instead (dX = dY·Wᵀ, dW = Xᵀ·dY).
//
// The pure-Go backend also lacks Reverse (the input-gradient of a
// convolution), SelectAndScatterMax (the gradient of max-pooling) and Pad
// (the gradient of Slice). Conv2D and MaxPool2D therefore have two paths:
// GoMLX's native ops where the backend can differentiate them (XLA), and
// forms built from ops it can (im2col through Gather + MatMul; reshape +
// ReduceMax) elsewhere. ChoosePath picks per backend.
//
// Example:
//
//	y := ops.MatMul(x, w)                                // x: [..., in], w: [in, out]
//	path := ops.ChoosePath(backend.Capabilities())
//	h := ops.Conv2D(path, images, kernel, ops.ConvConfig{Stride: 1, Padding: ops.Same})
//	h = ops.MaxPool2D(path, h, 2)
package ops
