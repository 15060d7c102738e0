package nbui

import (
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/spec"
)

// TestShowOpPrecisionsTable: the table's 16-bit column holds the
// convolutions and matmuls of an fp16 LeNet-5 step (its header and the
// counts' keys agree), the loss's Exp is in the float32 column.
func TestShowOpPrecisionsTable(t *testing.T) {
	rec := &Recorder{}
	defer SetDisplay(SetDisplay(rec))
	t.Setenv("GOMLX_BACKEND", "go")
	if _, err := ShowOpPrecisions(spec.Model{Arch: "lenet5"}, "fp16"); err != nil {
		t.Fatal(err)
	}
	text := rec.Shown[len(rec.Shown)-1].Text
	rows := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			rows[f[0]] = f[1:]
		}
	}
	if h := rows["op"]; h == nil || h[0] != "float16" || h[1] != "float32" {
		t.Fatalf("header %v, want op float16 float32:\n%s", h, text)
	}
	if c := rows["ConvGeneral"]; c == nil || c[0] == "0" || c[1] != "0" {
		t.Errorf("ConvGeneral %v, want all in float16:\n%s", c, text)
	}
	if e := rows["Exp"]; e == nil || e[1] == "0" {
		t.Errorf("Exp %v, want in float32:\n%s", e, text)
	}
}
