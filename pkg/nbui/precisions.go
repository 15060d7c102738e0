package nbui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lathe-ml/lathe/pkg/amp"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// ShowOpPrecisions shows, for one train step of the model at a precision
// ("fp16", "bf16"), how many of each arithmetic operation run in 16-bit
// and in 32-bit floats (bench.OpPrecisions), on the backend a recipe
// would get (GOMLX_BACKEND, else auto). It returns the counts.
func ShowOpPrecisions(m spec.Model, precision string) ([]bench.OpPrecision, error) {
	p, err := amp.Parse(precision)
	if err != nil {
		return nil, err
	}
	opened, err := backend.Open(backend.Resolve("", ""))
	if err != nil {
		return nil, err
	}
	defer opened.Backend.Finalize()
	counts, err := bench.OpPrecisions(opened.Backend, bench.Config{Model: models.Spec{Model: m, ComputeDType: p.ComputeDType()}, Batch: 8})
	if err != nil {
		return nil, err
	}
	half, full := strings.ToLower(p.ComputeDType().String()), "float32" // bench.OpPrecision's keys
	cols := []string{"op", half, full}
	var rows [][]string
	for _, c := range counts {
		rows = append(rows, []string{c.Op, strconv.Itoa(c.ByDType[half]), strconv.Itoa(c.ByDType[full])})
	}
	// The ops in float32 first: those are the ones the policy keeps there.
	slices.SortStableFunc(rows, func(a, b []string) int { return boolInt(b[2] != "0") - boolInt(a[2] != "0") })
	text := fmt.Sprintf("ops of one %s train step of %s, by dtype:\n%s", precision, m.Arch, tableText(append([][]string{cols}, rows...)))
	display().Show(Output{Text: text, HTML: htmlTable(cols, rows)})
	return counts, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
