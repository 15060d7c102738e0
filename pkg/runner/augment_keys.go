package runner

import (
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/recipe"
)

// augmentKeys are what a train (or distill) stage's augment mapping takes.
var augmentKeys = []string{"shift", "flip"}

// decodeAugment reads augment: {shift: pixels, flip: true}.
func decodeAugment(d *recipe.Decoder, n recipe.Node) (a datasets.Augment, err error) {
	fields, err := d.Fields(n, "augment", augmentKeys)
	if err != nil {
		return a, err
	}
	for _, f := range fields {
		switch f.Key {
		case "shift":
			if a.Shift, err = d.Int(f.Value, "augment.shift", 0); err == nil && a.Shift > 16 {
				err = d.Errorf(f.Value, "augment.shift is a number of pixels, at most 16, got %d", a.Shift)
			}
		case "flip":
			a.Flip, err = d.Bool(f.Value, "augment.flip")
		}
		if err != nil {
			return a, err
		}
	}
	return a, nil
}
