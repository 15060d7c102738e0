package runner

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func finalize(ts ...*tensors.Tensor) {
	for _, t := range ts {
		if t != nil {
			t.FinalizeAll()
		}
	}
}

// scalar reads a float scalar tensor (a metric, a learning rate). Anything
// else is an error: a value that cannot be read is never recorded as 0.
func scalar(t *tensors.Tensor) (float64, error) {
	if t == nil {
		return 0, fmt.Errorf("no value")
	}
	switch v := t.Value().(type) {
	case float32:
		return float64(v), nil
	case float64:
		return v, nil
	}
	return 0, fmt.Errorf("expected a float scalar, got %s", t.Shape())
}
