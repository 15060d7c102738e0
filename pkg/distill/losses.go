package distill

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
)

// SoftTarget is the soft-label loss at temperature T:
//
//	T² · mean over the batch of KL(softmax(teacher/T) ‖ softmax(student/T))
//
// for logits [batch, classes]. The T² keeps its gradient's scale
// independent of T (the softened gradients shrink as 1/T²), as Hinton et
// al. prescribe, so that the mix with the hard-label loss means the same
// at any temperature. It is PyTorch's
// kl_div(log_softmax(s/T), softmax(t/T), reduction="batchmean")·T².
func SoftTarget(student, teacher *Node, temperature float64) *Node {
	teacher = StopGradient(teacher)
	logPs := LogSoftmax(DivScalar(student, temperature), -1)
	logPt := LogSoftmax(DivScalar(teacher, temperature), -1)
	kl := ReduceSum(Mul(Exp(logPt), Sub(logPt, logPs)), -1)
	return MulScalar(ReduceAllMean(kl), temperature*temperature)
}

// Combined is alpha·SoftTarget + (1 − alpha)·cross entropy on the labels
// ([batch] or [batch, 1] integers): alpha 1 is pure imitation, 0 the
// student trained alone.
func Combined(labels, student, teacher *Node, temperature, alpha float64) *Node {
	if labels.Rank() == 1 {
		labels = InsertAxes(labels, -1)
	}
	hard := ReduceAllMean(losses.SparseCategoricalCrossEntropyLogits([]*Node{labels}, []*Node{student}))
	soft := SoftTarget(student, teacher, temperature)
	return Add(MulScalar(soft, alpha), MulScalar(hard, 1-alpha))
}

// Hint is the mean squared difference between a student's feature and the
// teacher's, of the same shape: where their widths differ the caller first
// maps the student's through a learned projection (FitNets' regressor).
func Hint(student, teacher *Node) *Node {
	d := Sub(student, StopGradient(teacher))
	return ReduceAllMean(Mul(d, d))
}

// AttentionTransfer compares two NHWC feature maps of the same height and
// width (any channel counts) by their spatial attention: each map's mean
// over channels of the squared activations, flattened and scaled to unit
// L2 norm per example; the loss is the mean squared difference of the two
// (the authors' code: (at(s) − at(t))².mean(), with p = 2).
func AttentionTransfer(student, teacher *Node) *Node {
	d := Sub(attention(student), attention(StopGradient(teacher)))
	return ReduceAllMean(Mul(d, d))
}

// attention is a feature map's normalized attention [batch, h·w].
func attention(x *Node) *Node {
	a := ReduceMean(Mul(x, x), -1)
	a = Reshape(a, a.Shape().Dimensions[0], -1)
	norm := Sqrt(ReduceAndKeep(Mul(a, a), ReduceSum, -1))
	// F.normalize's eps: an all-zero map stays zero instead of NaN.
	return Div(a, Max(norm, Scalar(a.Graph(), a.DType(), 1e-12)))
}
