// Code written once from GoMLX v0.26.0's backends.StandardOps: the ops whose
// arguments are the same in github.com/gomlx/compute, handed through as they
// are (backends.Op and compute.Value are both empty interfaces holding
// compute's nodes). Ops whose arguments need converting are in convert_ops.go.

package gocompute

import "github.com/gomlx/gomlx/backends"

func (f *function) Abs(x backends.Op) (backends.Op, error) {
	return f.fn.Abs(x)
}

func (f *function) Add(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.Add(lhs, rhs)
}

func (f *function) BatchNormForInference(operand, scale, offset, mean, variance backends.Op, epsilon float32, featureAxis int) (backends.Op, error) {
	return f.fn.BatchNormForInference(operand, scale, offset, mean, variance, epsilon, featureAxis)
}

func (f *function) BatchNormForTraining(operand, scale, offset backends.Op, epsilon float32, featureAxis int) (normalized backends.Op, batchMean backends.Op, batchVariance backends.Op, err error) {
	r0, r1, r2, err := f.fn.BatchNormForTraining(operand, scale, offset, epsilon, featureAxis)
	return r0, r1, r2, err
}

func (f *function) BatchNormGradient(operand, scale, mean, variance, gradOutput backends.Op, epsilon float32, featureAxis int) (gradOperand backends.Op, gradScale backends.Op, gradOffset backends.Op, err error) {
	r0, r1, r2, err := f.fn.BatchNormGradient(operand, scale, mean, variance, gradOutput, epsilon, featureAxis)
	return r0, r1, r2, err
}

func (f *function) BitCount(operand backends.Op) (backends.Op, error) {
	return f.fn.BitCount(operand)
}

func (f *function) BitwiseAnd(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.BitwiseAnd(lhs, rhs)
}

func (f *function) BitwiseNot(x backends.Op) (backends.Op, error) {
	return f.fn.BitwiseNot(x)
}

func (f *function) BitwiseOr(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.BitwiseOr(lhs, rhs)
}

func (f *function) BitwiseXor(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.BitwiseXor(lhs, rhs)
}

func (f *function) Ceil(x backends.Op) (backends.Op, error) {
	return f.fn.Ceil(x)
}

func (f *function) Clamp(min, x, max backends.Op) (backends.Op, error) {
	return f.fn.Clamp(min, x, max)
}

func (f *function) Clz(x backends.Op) (backends.Op, error) {
	return f.fn.Clz(x)
}

func (f *function) Complex(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.Complex(lhs, rhs)
}

func (f *function) Concatenate(axis int, operands ...backends.Op) (backends.Op, error) {
	return f.fn.Concatenate(axis, values(operands)...)
}

func (f *function) Conj(x backends.Op) (backends.Op, error) {
	return f.fn.Conj(x)
}

func (f *function) Cos(x backends.Op) (backends.Op, error) {
	return f.fn.Cos(x)
}

func (f *function) Div(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.Div(lhs, rhs)
}

func (f *function) DynamicUpdateSlice(operand, update backends.Op, startIndices []backends.Op) (backends.Op, error) {
	return f.fn.DynamicUpdateSlice(operand, update, values(startIndices))
}

func (f *function) Equal(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.Equal(lhs, rhs)
}

func (f *function) EqualTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.EqualTotalOrder(lhs, rhs)
}

func (f *function) Erf(x backends.Op) (backends.Op, error) {
	return f.fn.Erf(x)
}

func (f *function) Exp(x backends.Op) (backends.Op, error) {
	return f.fn.Exp(x)
}

func (f *function) Expm1(x backends.Op) (backends.Op, error) {
	return f.fn.Expm1(x)
}

func (f *function) Floor(x backends.Op) (backends.Op, error) {
	return f.fn.Floor(x)
}

func (f *function) Gather(operand, startIndices backends.Op, indexVectorAxis int, offsetOutputAxes, collapsedSliceAxes, startIndexMap, sliceSizes []int, indicesAreSorted bool) (backends.Op, error) {
	return f.fn.Gather(operand, startIndices, indexVectorAxis, offsetOutputAxes, collapsedSliceAxes, startIndexMap, sliceSizes, indicesAreSorted)
}

func (f *function) GreaterOrEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.GreaterOrEqual(lhs, rhs)
}

func (f *function) GreaterOrEqualTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.GreaterOrEqualTotalOrder(lhs, rhs)
}

func (f *function) GreaterThan(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.GreaterThan(lhs, rhs)
}

func (f *function) GreaterThanTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.GreaterThanTotalOrder(lhs, rhs)
}

func (f *function) Imag(x backends.Op) (backends.Op, error) {
	return f.fn.Imag(x)
}

func (f *function) IsFinite(x backends.Op) (backends.Op, error) {
	return f.fn.IsFinite(x)
}

func (f *function) IsNaN(x backends.Op) (backends.Op, error) {
	return f.fn.IsNaN(x)
}

func (f *function) LessOrEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.LessOrEqual(lhs, rhs)
}

func (f *function) LessOrEqualTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.LessOrEqualTotalOrder(lhs, rhs)
}

func (f *function) LessThan(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.LessThan(lhs, rhs)
}

func (f *function) LessThanTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.LessThanTotalOrder(lhs, rhs)
}

func (f *function) Log(x backends.Op) (backends.Op, error) {
	return f.fn.Log(x)
}

func (f *function) Log1p(x backends.Op) (backends.Op, error) {
	return f.fn.Log1p(x)
}

func (f *function) LogicalAnd(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.LogicalAnd(lhs, rhs)
}

func (f *function) LogicalNot(x backends.Op) (backends.Op, error) {
	return f.fn.LogicalNot(x)
}

func (f *function) LogicalOr(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.LogicalOr(lhs, rhs)
}

func (f *function) LogicalXor(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.LogicalXor(lhs, rhs)
}

func (f *function) Logistic(x backends.Op) (backends.Op, error) {
	return f.fn.Logistic(x)
}

func (f *function) Mul(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.Mul(lhs, rhs)
}

func (f *function) Neg(x backends.Op) (backends.Op, error) {
	return f.fn.Neg(x)
}

func (f *function) NotEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.NotEqual(lhs, rhs)
}

func (f *function) NotEqualTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.NotEqualTotalOrder(lhs, rhs)
}

func (f *function) Pow(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.Pow(lhs, rhs)
}

func (f *function) Real(x backends.Op) (backends.Op, error) {
	return f.fn.Real(x)
}

func (f *function) ReduceBitwiseAnd(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.ReduceBitwiseAnd(x, axes...)
}

func (f *function) ReduceBitwiseOr(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.ReduceBitwiseOr(x, axes...)
}

func (f *function) ReduceBitwiseXor(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.ReduceBitwiseXor(x, axes...)
}

func (f *function) ReduceLogicalAnd(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.ReduceLogicalAnd(x, axes...)
}

func (f *function) ReduceLogicalOr(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.ReduceLogicalOr(x, axes...)
}

func (f *function) ReduceLogicalXor(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.ReduceLogicalXor(x, axes...)
}

func (f *function) ReduceProduct(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.ReduceProduct(x, axes...)
}

func (f *function) ReduceSum(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.ReduceSum(x, axes...)
}

func (f *function) Rem(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.Rem(lhs, rhs)
}

func (f *function) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	return f.fn.Reverse(x, axes...)
}

func (f *function) Round(x backends.Op) (backends.Op, error) {
	return f.fn.Round(x)
}

func (f *function) Rsqrt(x backends.Op) (backends.Op, error) {
	return f.fn.Rsqrt(x)
}

func (f *function) ScatterMax(operand, scatterIndices, updates backends.Op, indexVectorAxis int, updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (backends.Op, error) {
	return f.fn.ScatterMax(operand, scatterIndices, updates, indexVectorAxis, updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

func (f *function) ScatterMin(operand, scatterIndices, updates backends.Op, indexVectorAxis int, updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (backends.Op, error) {
	return f.fn.ScatterMin(operand, scatterIndices, updates, indexVectorAxis, updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

func (f *function) ScatterSum(operand, scatterIndices, updates backends.Op, indexVectorAxis int, updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (backends.Op, error) {
	return f.fn.ScatterSum(operand, scatterIndices, updates, indexVectorAxis, updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

func (f *function) SelectAndScatterMin(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error) {
	return f.fn.SelectAndScatterMin(operand, source, windowDimensions, windowStrides, paddings)
}

func (f *function) ShiftLeft(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.ShiftLeft(lhs, rhs)
}

func (f *function) ShiftRightArithmetic(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.ShiftRightArithmetic(lhs, rhs)
}

func (f *function) ShiftRightLogical(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.ShiftRightLogical(lhs, rhs)
}

func (f *function) Sign(x backends.Op) (backends.Op, error) {
	return f.fn.Sign(x)
}

func (f *function) Sin(x backends.Op) (backends.Op, error) {
	return f.fn.Sin(x)
}

func (f *function) Slice(x backends.Op, starts, limits, strides []int) (backends.Op, error) {
	return f.fn.Slice(x, starts, limits, strides)
}

func (f *function) Sqrt(x backends.Op) (backends.Op, error) {
	return f.fn.Sqrt(x)
}

func (f *function) Sub(lhs, rhs backends.Op) (backends.Op, error) {
	return f.fn.Sub(lhs, rhs)
}

func (f *function) Tanh(x backends.Op) (backends.Op, error) {
	return f.fn.Tanh(x)
}

func (f *function) Transpose(x backends.Op, permutation ...int) (backends.Op, error) {
	return f.fn.Transpose(x, permutation...)
}

func (f *function) Where(condition, onTrue, onFalse backends.Op) (backends.Op, error) {
	return f.fn.Where(condition, onTrue, onFalse)
}
