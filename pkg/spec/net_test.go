package spec

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// smallCNN is the package doc's example: a net a program registers.
func smallCNN(m Model) Net {
	act := m.ActivationName()
	return Net{
		Conv("conv1", 8, 3).WithActivation(act),
		MaxPool("pool1", 2),
		Conv("conv2", 16, 3).WithPadding(Valid).WithStride(2).WithBatchNorm().WithActivation(act),
		Flatten("flatten"),
		Dense("fc1", 32).WithActivation(act),
		Logits(),
	}
}

// residualMLP adds an identity block and a projected one.
func residualMLP(m Model) Net {
	return Net{
		Flatten("flatten"),
		Dense("fc1", 12).WithActivation("relu"),
		Residual("res1", Net{Dense("a", 10).WithActivation("relu"), Dense("b", 12)}, nil).WithActivation("relu"),
		Residual("res2", Net{Dense("a", 8).WithActivation("relu"), Dense("b", 6)}, Net{Dense("proj", 6)}),
		Logits(),
	}
}

func init() {
	Register("spec-test-cnn", smallCNN)
	Register("spec-test-resmlp", residualMLP)
}

// TestRegisteredNets: a registered architecture joins Archs, and its
// layers, wiring, channel groups, FLOPs and accepted shapes come from its
// description, counted here by hand.
func TestRegisteredNets(t *testing.T) {
	archs := Archs()
	if !slices.Equal(archs[:5], []string{"mlp", "lenet5", "resnet8", "resnet20", "resnet18"}) ||
		!slices.Contains(archs, "spec-test-cnn") || !slices.Contains(archs, "spec-test-resmlp") {
		t.Errorf("Archs() = %v: want the zoo first, then the registered nets", archs)
	}
	cnn := Model{Arch: "spec-test-cnn"}
	if err := cnn.Validate(); err != nil {
		t.Fatal(err)
	}
	// 28×28×1: conv1 keeps 28×28, pooling 14×14, conv2 (3×3 valid, stride
	// 2) ⌈12/2⌉ = 6×6, flattened 6·6·16 = 576 features.
	got := fmt.Sprint(cnn.Architecture([]int{28, 28, 1}))
	want := "[{conv1 true 3 1 8 784  0 } {conv2/conv true 3 8 16 36 conv1 0 } {fc1 false 0 576 32 1 conv2/conv 36 } {logits false 0 32 0 1 fc1 0 }]"
	if got != want {
		t.Errorf("Architecture\n%s\nwant\n%s", got, want)
	}
	if got, want := cnn.FLOPs([]int{28, 28, 1}, 10), int64(2*(9*8*784+9*8*16*36+576*32+32*10)); got != want {
		t.Errorf("FLOPs %d, want %d", got, want)
	}
	if got, want := fmt.Sprint(cnn.ChannelGroups()), "[{[conv1] [conv2/conv] 8} {[conv2/conv] [fc1] 16} {[fc1] [logits] 32}]"; got != want {
		t.Errorf("groups %s, want %s", got, want)
	}
	if !cnn.IsConvolutional() {
		t.Error("a net with convolutions takes images")
	}
	// The smallest image: pooling must leave conv2 at least 3×3, so 6×6.
	if err := cnn.AcceptsShape([]int{6, 6, 1}); err != nil {
		t.Error(err)
	}
	if err := cnn.AcceptsShape([]int{5, 7, 1}); err == nil || !strings.Contains(err.Error(), "at least 6×6 pixels") {
		t.Errorf("5×7 images: %v, want a 6×6 minimum", err)
	}
	if err := (Model{Arch: "spec-test-cnn", Widths: map[string]int{"conv2/conv": 4}}).Validate(); err != nil {
		t.Errorf("resizing conv2 (by its weights' scope): %v", err)
	}

	res := Model{Arch: "spec-test-resmlp"}
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(res.Layers(), " "), "fc1 res1/a res1/b res2/a res2/b res2/proj logits"; got != want {
		t.Errorf("layers %s, want %s", got, want)
	}
	// The identity block's sum is fc1's channels and res1/b's at once;
	// the projected block's, res2/b's and res2/proj's.
	got = fmt.Sprint(res.ChannelGroups())
	want = "[{[fc1 res1/b] [res1/a res2/a res2/proj] 12} {[res1/a] [res1/b] 10} {[res2/a] [res2/b] 8} {[res2/b res2/proj] [logits] 6}]"
	if got != want {
		t.Errorf("groups\n%s\nwant\n%s", got, want)
	}
	if res.IsConvolutional() || res.AcceptsShape([]int{5}) != nil || res.AcceptsShape([]int{4, 4, 1}) != nil {
		t.Error("a net of dense layers takes features, and images flattened")
	}
	err := Model{Arch: "spec-test-resmlp", Widths: map[string]int{"res1/b": 5}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "residual") {
		t.Errorf("an identity block's output resized alone: %v, want a residual-width error", err)
	}
}

// TestNetMistakes: a description that cannot be built is refused with the
// op it is about, on its own (Validate) or for a shape (AcceptsShape).
func TestNetMistakes(t *testing.T) {
	cases := []struct {
		name string
		net  Net
		want string
	}{
		{"no logits", Net{Dense("fc1", 4)}, "must end with the classifier"},
		{"duplicate", Net{Dense("fc1", 4), Dense("fc1", 4), Logits()}, `the name "fc1" is taken`},
		{"bn scope taken", Net{Conv("c", 4, 3).WithBatchNorm(), Flatten("c/conv"), Logits()}, `the name "c/conv" is taken`},
		{"input", Net{Flatten("input"), Logits()}, "model's input"},
		{"empty name", Net{Dense("a//b", 4), Logits()}, "needs a name"},
		{"width", Net{Dense("fc1", 0), Logits()}, "at least one output"},
		{"kernel", Net{Conv("c", 4, 0), Logits()}, "kernel 0"},
		{"padding", Net{Conv("c", 4, 3).WithPadding("full"), Logits()}, `padding "full"`},
		{"activation", Net{Dense("fc1", 4).WithActivation("relu6"), Logits()}, `unknown activation "relu6"`},
		{"pool activation", Net{MaxPool("p", 2).WithActivation("relu"), Logits()}, "take an activation"},
		{"dropout", Net{Dropout(1), Logits()}, "rate must be in [0, 1)"},
		{"empty body", Net{Dense("fc1", 4), Residual("r", nil, nil), Logits()}, "has no body"},
		{"body without a layer", Net{Dense("fc1", 4), Residual("r", Net{Dropout(0.1)}, nil), Logits()}, "body needs a dense or convolution layer"},
		{"adds the input", Net{Residual("r", Net{Dense("a", 4)}, nil), Logits()}, "adds the model's input"},
		{"nested at the end", Net{Dense("fc1", 4), Residual("r", Net{Dense("a", 4), Residual("s", Net{Dense("b", 4)}, nil)}, nil), Logits()}, "end with a layer of its own"},
	}
	for i, c := range cases {
		name := fmt.Sprintf("spec-test-bad%d", i)
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Errorf("%s: Register panicked with %v, want %q", c.name, r, c.want)
				}
			}()
			Register(name, func(Model) Net { return c.net })
		}()
		if slices.Contains(Archs(), name) {
			t.Errorf("%s: a refused net was registered", c.name)
		}
	}
	for _, c := range []struct {
		name    string
		net     Net
		example []int
		want    string
	}{
		{"dense on images", Net{Dense("fc1", 4), Logits()}, []int{4, 4, 1}, "flatten them first"},
		{"conv on features", Net{Conv("c", 4, 3), MaxPool("p", 2), Flatten("f"), Logits()}, []int{3}, "needs images"},
		{"conv after flatten", Net{Flatten("f"), Conv("c", 4, 3), Flatten("g"), Logits()}, []int{4, 4, 1}, "needs images"},
		{"shapes of a sum", Net{Conv("c", 4, 3), Residual("r", Net{Conv("a", 4, 3).WithStride(2)}, nil), Flatten("f"), Logits()}, []int{4, 4, 1}, "adds values of shapes [2 2 4] (body) and [4 4 4]"},
		{"features of a sum", Net{Dense("fc1", 4), Residual("r", Net{Dense("a", 4)}, nil), Logits()}, []int{3}, ""},
	} {
		m := Model{Arch: "spec-test-shape-" + strings.ReplaceAll(c.name, " ", "-")}
		if !slices.Contains(Archs(), m.Arch) { // -count=2 runs this twice in one process
			Register(m.Arch, func(Model) Net { return c.net })
		}
		err := m.AcceptsShape(c.example)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s on %v: %v, want %q", c.name, c.example, err, c.want)
		}
	}
}

// TestRegisterRefusesNames: names are scopes and recipe words; each is
// registered once.
func TestRegisterRefusesNames(t *testing.T) {
	for _, name := range []string{"mlp", "", "my net", "a/b", "9lives"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			Register(name, smallCNN)
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Register with a nil function did not panic")
			}
		}()
		Register("spec-test-nil", nil)
	}()
}
