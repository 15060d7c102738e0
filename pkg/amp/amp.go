// Package amp is mixed-precision training: compute in bfloat16 or float16
// while weights and optimizer state stay float32, and, for float16, a
// dynamic loss scaler with PyTorch GradScaler's semantics.
//
// A precision policy is chosen per train stage (`precision: f32 | bf16 |
// fp16`). The model casts its input and each weight to the compute type
// where it is used (so gradients come back to the float32 "master" weights
// through the cast), keeps batch norm statistics and the loss in float32.
// Backends that lack a type are refused with a clear error, or fall back to
// float32 when the recipe allows it (`precision_fallback: f32`).
//
// Example:
//
//	policy, notice, err := amp.Resolve("fp16", "f32", backend)
//	spec.ComputeDType = policy.ComputeDType()
//	opt = amp.WithLossScaling(opt, amp.DefaultScaler) // only for fp16
package amp

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Precisions lists the accepted precision names.
var Precisions = []string{"f32", "bf16", "fp16"}

// Precision is a compute precision.
type Precision string

const (
	F32  Precision = "f32"
	BF16 Precision = "bf16"
	FP16 Precision = "fp16"
)

// ComputeDType is the dtype matmuls, convolutions and activations run in.
func (p Precision) ComputeDType() dtypes.DType {
	switch p {
	case BF16:
		return dtypes.BFloat16
	case FP16:
		return dtypes.Float16
	}
	return dtypes.Float32
}

// NeedsLossScaling: float16's narrow range underflows small gradients
// unless the loss is scaled; bfloat16 has float32's range and does not.
func (p Precision) NeedsLossScaling() bool { return p == FP16 }

// Parse checks a precision name.
func Parse(name string) (Precision, error) {
	for _, p := range Precisions {
		if p == name {
			return Precision(name), nil
		}
	}
	return "", fmt.Errorf("unknown precision %q (allowed: %s)", name, strings.Join(Precisions, ", "))
}

// Supports reports whether the backend can convert to and compute in p.
// GoMLX v0.26.0's pure-Go backend has no float16 conversion.
func Supports(b backends.Backend, p Precision) bool {
	dt := p.ComputeDType()
	if dt == dtypes.Float32 {
		return true
	}
	caps := b.Capabilities()
	return caps.DTypes[dt] && caps.Operations[backends.OpTypeConvertDType]
}

// Resolve picks the precision to run: the requested one when the backend
// has it, else the fallback (with a one-line notice) when one is given,
// else an error that says what to do.
func Resolve(requested, fallback string, b backends.Backend) (p Precision, notice string, err error) {
	if p, err = Parse(requested); err != nil {
		return "", "", err
	}
	if Supports(b, p) {
		return p, "", nil
	}
	if fallback == "" {
		return "", "", fmt.Errorf("precision %s: the %s backend has no %s; use another backend (XLA has it), "+
			"or set precision_fallback: f32 in the train stage", p, b.String(), typeName(p))
	}
	fb, err := Parse(fallback)
	if err != nil {
		return "", "", err
	}
	if !Supports(b, fb) {
		return "", "", fmt.Errorf("precision %s and its fallback %s are both unavailable on the %s backend", p, fb, b.String())
	}
	return fb, fmt.Sprintf("precision: the %s backend has no %s; training in %s as precision_fallback allows", b.String(), typeName(p), fb), nil
}

func typeName(p Precision) string { return strings.ToLower(p.ComputeDType().String()) }
