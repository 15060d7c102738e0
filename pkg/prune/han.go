package prune

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// Han is Han et al.'s criterion (2015, "Learning both Weights and
// Connections"): a weight goes when its magnitude is under its layer's
// threshold, a quality parameter times the standard deviation of the
// layer's weights. One quality parameter serves every layer, so each layer
// gets its own threshold, scaled to its weights; convolutions, which
// tolerate less, get a smaller quality parameter than dense layers
// (relative_quality). The stage solves for the parameter that reaches its
// sparsity: a weight's score is |w| / (relative quality × σ of its layer),
// and one threshold over every layer's scores is that parameter.
const Han = "han"

// defaultRelativeQuality is Han's "conv layers pruned less": with half
// the dense layers' quality parameter, a convolution loses only weights
// within half as many standard deviations of zero.
var defaultRelativeQuality = map[string]float64{"conv": 0.5, "dense": 1}

// hanScores rank each layer's weights by |w| / (q·σ), σ the standard
// deviation of the layer's weights as they are now (pruned ones included,
// as 0, as in Distiller's reading of the paper), q the layer's own
// relative quality, else its kind's. A weight already pruned scores 0 and stays pruned.
func hanScores(layers []Layer, conv map[string]bool, quality map[string]float64) (map[string][]float32, error) {
	out := map[string][]float32{}
	for _, l := range layers {
		w, err := l.weights.Value()
		if err != nil {
			return nil, err
		}
		values := tensors.MustCopyFlatData[float32](w)
		var sum, sq float64
		for _, x := range values {
			sum += float64(x)
		}
		mean := sum / float64(len(values))
		for _, x := range values {
			sq += (float64(x) - mean) * (float64(x) - mean)
		}
		sigma := math.Sqrt(sq / float64(len(values)))
		q, own := quality[l.Name]
		switch {
		case own:
		case conv[l.Name]:
			q = quality["conv"]
		default:
			q = quality["dense"]
		}
		scores := make([]float32, len(values))
		if sigma > 0 {
			for i, x := range values {
				scores[i] = float32(math.Abs(float64(x)) / (q * sigma))
			}
		}
		out[l.Name] = scores
	}
	return out, nil
}

// convLayers names the model's convolutions.
func convLayers(m spec.Model, example []int) map[string]bool {
	out := map[string]bool{}
	for _, l := range m.Architecture(example) {
		out[l.Name] = l.Conv
	}
	return out
}

// setRelativeQuality reads relative_quality: {conv: Q, dense: Q, <layer>:
// Q}: by kind, or for one layer (as Han chose a quality per layer from
// its sensitivity); Check names a layer the model lacks.
func (st *Stage) setRelativeQuality(d *recipe.Decoder, f recipe.Field) error {
	fields, err := d.AnyFields(f.Value, "relative_quality")
	if err != nil {
		return err
	}
	for _, qf := range fields {
		if st.RelativeQuality[qf.Key], err = d.Positive(qf.Value, "relative_quality "+qf.Key); err != nil {
			return err
		}
		st.named["relative_quality "+qf.Key] = qf.KeyNode
	}
	return nil
}

// checkHan: Han's thresholds are per layer through one quality parameter,
// so the scores are pooled (scope: global); they rank weights, not
// channels.
func (st *Stage) checkHan(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	if n, ok := st.written["relative_quality"]; ok && st.Criterion != Han {
		return d.Errorf(n, "prune: relative_quality applies to criterion: han")
	}
	if st.Criterion != Han {
		return nil
	}
	layers := rec.Model.Layers()
	for name := range st.RelativeQuality {
		if name != "conv" && name != "dense" && !slices.Contains(layers, name) {
			return d.Errorf(st.where("relative_quality "+name, at), "prune: relative_quality names no layer of the %s model: %q (conv, dense, or one of %s)", rec.Model.Arch, name, strings.Join(layers, ", "))
		}
	}
	if st.Structure == Channels {
		return d.Errorf(st.where("criterion", at), "prune: criterion: han ranks weights; structure: channels takes l1, l2, taylor or random")
	}
	if n, ok := st.written["scope"]; ok && !st.Global {
		return d.Errorf(n, "prune: criterion: han sets one quality parameter for every layer (each layer's threshold is it times the layer's σ): scope: layer does not apply")
	}
	st.Global = true
	return nil
}

func (st *Stage) hanText() string {
	if st.Criterion != Han {
		return ""
	}
	return fmt.Sprintf(" (Han et al.: threshold = quality × σ of each layer; convolutions at %g×, dense layers at %g× the quality)",
		st.RelativeQuality["conv"], st.RelativeQuality["dense"])
}
