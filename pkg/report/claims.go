package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Claim is one of the seed's three claims set beside what a report
// measured. Claims are computed from a Tradeoff's figures whenever they
// are asked for, never stored or typed in.
type Claim struct {
	// Key is size, training or inference.
	Key string `json:"key"`
	// Seed is the claim as the seed states it.
	Seed string `json:"seed"`
	// Target is the reduction claimed (0.5 for −50%); Measured the
	// reduction measured, NaN when it could not be.
	Target   float64 `json:"target"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
	// Detail says what was compared, with the figures.
	Detail string `json:"detail"`
	// Why says, when the claim is not met, what stood in the way.
	Why string `json:"why,omitempty"`
}

// MarshalJSON writes Measured as null when it is not a number (JSON
// has no NaN); the Why then says what was missing.
func (c Claim) MarshalJSON() ([]byte, error) {
	type plain Claim
	out := struct {
		plain
		Measured *float64 `json:"measured"`
	}{plain: plain(c)}
	if finite(c.Measured) {
		out.Measured = &c.Measured
	}
	return json.Marshal(out)
}

// Verdict is the claim's outcome in a word or two.
func (c Claim) Verdict() string {
	switch {
	case c.Met:
		return "met"
	case math.IsNaN(c.Measured):
		return "not measured"
	}
	return "NOT met"
}

// Line is the claim in one line of text: what the seed says, what was
// measured, and why it fell short when it did.
func (c Claim) Line() string {
	s := fmt.Sprintf("%s — %s: %s", c.Seed, c.Verdict(), c.Detail)
	if c.Why != "" {
		s += " Why: " + c.Why
	}
	return s
}

// Claims sets the seed's three claims beside the report's figures:
//
//   - size: "model size −50%, high accuracy" (L1-norm pruning at 50% and
//     int8): the combined model's file against the baseline's, and its
//     accuracy no more than MaxDropPP below;
//   - training: "training time −50%" (multi-GPU mixed precision): a
//     bfloat16 train step against a float32 one;
//   - inference: "inference time −80%" (int8 + ONNX): the combined
//     model's latency at batch 64 against the baseline's, both in Lathe's
//     runtime (the same engine, so the ratio is the techniques' alone).
func (t *Tradeoff) Claims() []Claim {
	base, okBase := t.Baseline()
	comb, okComb := t.Combined()
	return []Claim{t.sizeClaim(base, comb, okBase && okComb), t.trainingClaim(), t.inferenceClaim(base, comb, okBase && okComb)}
}

func (t *Tradeoff) maxDrop() float64 {
	if t.MaxDropPP > 0 {
		return t.MaxDropPP
	}
	return DefaultMaxDropPP
}

func (t *Tradeoff) sizeClaim(base, comb Variant, ok bool) Claim {
	c := Claim{Key: "size", Seed: "Model size −50% with high accuracy (L1-norm pruning 50% + int8)", Target: 0.5, Measured: math.NaN()}
	switch {
	case !ok || len(t.Variants) < 2:
		c.Why = "The report needs a baseline and a compressed model."
		return c
	case !finite(base.Bytes, comb.Bytes) || base.Bytes <= 0:
		c.Why = "A model file's size is missing."
		return c
	}
	c.Measured = 1 - comb.Bytes/base.Bytes
	drop := 100 * (base.Accuracy - comb.Accuracy)
	c.Detail = fmt.Sprintf("%s is %s on disk against the baseline's %s (%s, %.2f× smaller); %s accuracy %s against %s (%s).",
		comb.Label(), formatBytes(comb.Bytes), formatBytes(base.Bytes), formatChange(c.Measured), base.Bytes/comb.Bytes,
		t.Split, formatAcc(comb.Accuracy), formatAcc(base.Accuracy), formatDrop(drop))
	var why []string
	if c.Measured < c.Target {
		why = append(why, fmt.Sprintf("the file shrank by %s%%, not the %s%% claimed", apart(100*c.Measured, 100*c.Target, 0), trim(100*c.Target)))
	}
	switch {
	case math.IsNaN(drop):
		why = append(why, "an accuracy is missing, so \"high accuracy\" cannot be checked")
	case t.atChance(base.Accuracy):
		// Keeping a guesser's accuracy is no achievement: say so rather
		// than call a model at chance accurate.
		why = append(why, fmt.Sprintf("the baseline (%s) is no better than chance (%.3g%% for %d classes), so no accuracy is \"high\"",
			formatAcc(base.Accuracy), 100/float64(t.Classes), t.Classes))
	case drop > t.maxDrop()+1e-9: // a drop of exactly the limit (in floating point) is within it
		why = append(why, fmt.Sprintf("accuracy fell %s pp, more than the %.1f pp that \"high accuracy\" allows here", apart(drop, t.maxDrop(), 2), t.maxDrop()))
	}
	c.Met = len(why) == 0
	c.Why = sentence(why)
	return c
}

func (t *Tradeoff) trainingClaim() Claim {
	c := Claim{Key: "training", Seed: "Training time −50% (multi-GPU mixed-precision training)", Target: 0.5, Measured: math.NaN()}
	tr := t.Training
	if tr == nil || !finite(tr.F32Ms, tr.BF16Ms) || tr.F32Ms <= 0 {
		c.Why = "No train-step measurement in float32 and bfloat16."
		if tr != nil && tr.Failed != "" {
			c.Why = "The train steps could not be timed: " + tr.Failed + "."
		}
		return c
	}
	c.Measured = 1 - tr.BF16Ms/tr.F32Ms
	c.Detail = fmt.Sprintf("a %s train step of %d on %s takes %.1f ms in bfloat16 against %.1f ms in float32 (%s).",
		tr.Model, tr.Batch, tr.Backend, tr.BF16Ms, tr.F32Ms, formatChange(c.Measured))
	if c.Met = c.Measured >= c.Target; c.Met {
		return c
	}
	var why []string
	if tr.BF16Ms >= tr.F32Ms {
		why = append(why, fmt.Sprintf("bfloat16 is %.2f× slower than float32 on %s: its matrix products do not run faster in 16 bits", tr.BF16Ms/tr.F32Ms, tr.Backend))
	} else {
		why = append(why, fmt.Sprintf("bfloat16 gains only %.2f× on %s", tr.F32Ms/tr.BF16Ms, tr.Backend))
	}
	if tr.Devices <= 1 {
		why = append(why, "the backend has one device, so data parallelism has nothing to add")
	} else {
		why = append(why, fmt.Sprintf("the steps ran on one of %d devices: data parallelism was not timed here", tr.Devices))
	}
	c.Why = sentence(why)
	return c
}

func (t *Tradeoff) inferenceClaim(base, comb Variant, ok bool) Claim {
	c := Claim{Key: "inference", Seed: "Inference time −80% (int8 + ONNX inference)", Target: 0.8, Measured: math.NaN()}
	switch {
	case !ok || len(t.Variants) < 2:
		c.Why = "The report needs a baseline and a compressed model."
		return c
	case !finite(base.RuntimeMs64, comb.RuntimeMs64) || comb.RuntimeMs64 <= 0:
		c.Why = "A latency at batch 64 is missing."
		return c
	}
	c.Measured = 1 - comb.RuntimeMs64/base.RuntimeMs64
	c.Detail = fmt.Sprintf("%s takes %.3f ms at batch 64 in Lathe's runtime against the baseline's %.3f ms (%s, %.2f× faster).",
		comb.Label(), comb.RuntimeMs64, base.RuntimeMs64, formatChange(c.Measured), base.RuntimeMs64/comb.RuntimeMs64)
	if finite(base.BackendMs64) {
		c.Detail += fmt.Sprintf(" Against the baseline as a GoMLX graph on %s (%.3f ms) it is %.1f× faster.",
			t.Backend, base.BackendMs64, base.BackendMs64/comb.RuntimeMs64)
	}
	if c.Met = c.Measured >= c.Target; c.Met {
		return c
	}
	need := 1 / (1 - c.Target)
	why := []string{fmt.Sprintf("−%.0f%% needs %.1f× at batch 64 and the combined model reached %s×",
		100*c.Target, need, apart(base.RuntimeMs64/comb.RuntimeMs64, need, 2))}
	for _, role := range []string{"quantized", "pruned"} {
		if v, ok := t.Role(role); ok && finite(v.RuntimeMs64) && v.RuntimeMs64 > 0 {
			why = append(why, fmt.Sprintf("%s alone is %.2f×", role, base.RuntimeMs64/v.RuntimeMs64))
		}
	}
	c.Why = sentence(why)
	return c
}

// atChance reports whether accuracy is no better than guessing among the
// report's classes: at most 1/classes plus a margin of three standard
// errors of a guesser's accuracy on the split's examples (a guesser
// scores above 1/classes by chance on a small split), and at least one
// percentage point. False when the classes are unknown.
func (t *Tradeoff) atChance(accuracy float64) bool {
	if t.Classes < 2 || !finite(accuracy) {
		return false
	}
	p := 1 / float64(t.Classes)
	margin := 0.01
	if t.Examples > 0 {
		margin = max(margin, 3*math.Sqrt(p*(1-p)/float64(t.Examples)))
	}
	return accuracy <= p+margin
}

// apart formats x, a figure compared with y, with the fewest decimals
// from least up to 3 at which the two differ, so that a claim missed by a
// hair does not read "shrank by 50%, not the 50% claimed". Equal still at
// 3 decimals, x is rounded away from y (down when below it, up when
// above), which keeps the comparison's direction.
func apart(x, y float64, least int) string {
	for d := least; d <= 3; d++ {
		if s := strconv.FormatFloat(x, 'f', d, 64); s != strconv.FormatFloat(y, 'f', d, 64) {
			return s
		}
	}
	r := math.Floor(x*1000) / 1000
	if x > y {
		r = math.Ceil(x*1000) / 1000
	}
	return strconv.FormatFloat(r, 'f', 3, 64)
}

// trim formats a round figure (a claimed 50%) with no more decimals than
// it has, up to 3.
func trim(x float64) string {
	return strconv.FormatFloat(math.Round(x*1000)/1000, 'f', -1, 64)
}

// sentence joins reasons into one sentence.
func sentence(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return capitalize(strings.Join(parts, "; ")) + "."
}

// capitalize upper-cases the first letter (a rune: reasons may start with "−").
func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// formatChange prints a reduction as a signed change: 0.62 → "−62%",
// -0.3 → "+30%".
func formatChange(reduction float64) string {
	if !finite(reduction) {
		return "NaN"
	}
	if reduction >= 0 {
		return fmt.Sprintf("−%.1f%%", 100*reduction)
	}
	return fmt.Sprintf("+%.1f%%", -100*reduction)
}

func formatDrop(pp float64) string {
	switch {
	case !finite(pp):
		return "change unknown"
	case pp > 0:
		return fmt.Sprintf("−%.2f pp", pp)
	}
	return fmt.Sprintf("+%.2f pp", math.Abs(pp)) // Abs: −0 (equal accuracies) printed "+-0.00"
}
