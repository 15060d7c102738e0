package spec

import (
	"fmt"
	"strings"
	"testing"
)

func TestModelAcceptsDataset(t *testing.T) {
	cases := []struct {
		model   Model
		dataset string
		want    string // "" when accepted, else part of the error
	}{
		{Model{Arch: "mlp"}, "spirals", ""},
		{Model{Arch: "mlp"}, "mnist", ""},
		{Model{Arch: "lenet5"}, "mnist", ""},
		{Model{Arch: "resnet18"}, "cifar10", ""},
		{Model{Arch: "lenet5"}, "spirals", "model lenet5 needs images (height×width×channels); dataset spirals gives 2 features per example"},
		{Model{Arch: "resnet8"}, "blobs", "dataset blobs gives 2 features per example"},
		{Model{Arch: "mlp"}, "imagenet", `unknown dataset "imagenet"`},
	}
	for _, c := range cases {
		err := c.model.Accepts(c.dataset)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s on %s: %v", c.model.Arch, c.dataset, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s on %s: %v, want %q", c.model.Arch, c.dataset, err, c.want)
		}
	}
	if err := (Model{Arch: "lenet5"}).AcceptsShape([]int{8, 8, 1}); err == nil {
		t.Error("lenet5 on 8×8 images: LeNet-5's second pooling needs at least 12×12")
	}
}

func TestValidateBackend(t *testing.T) {
	for _, ok := range []string{"", "auto", "go", "xla:cpu", "xla:cuda", "xla:/opt/plugin.so"} {
		if err := ValidateBackend(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"tpu", "xla:plugin.so", "XLA"} {
		if err := ValidateBackend(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestFLOPs checks against multiply-adds counted by hand, ×2.
func TestFLOPs(t *testing.T) {
	cases := []struct {
		model   Model
		example []int
		want    int64
	}{
		// conv1 5·5·1·6 weights at 28·28 positions, conv2 5·5·6·16 at 10·10,
		// fc1 400·120, fc2 120·84, logits 84·10.
		{Model{Arch: "lenet5"}, []int{28, 28, 1}, 2 * (117600 + 240000 + 48000 + 10080 + 840)},
		// conv2 on 3 channels with 8 filters: fc1 reads 5·5·8 = 200 features.
		{Model{Arch: "lenet5", Widths: map[string]int{"conv1": 3, "conv2": 8}}, []int{28, 28, 1},
			2 * (5*5*3*784 + 5*5*3*8*100 + 200*120 + 10080 + 840)},
		{Model{Arch: "mlp", Hidden: []int{100, 50}}, []int{28, 28, 1}, 2 * (784*100 + 100*50 + 50*10)},
		// ResNet-8 on 32×32×3: stem 3·3·3·16 at 1024; stage 1: two 3·3·16·16
		// at 1024; stage 2: 3·3·16·32 and 3·3·32·32 at 256 and a 1·1·16·32
		// shortcut at 256; stage 3 the same at 64 with 32→64; logits 64·10.
		{Model{Arch: "resnet8"}, []int{32, 32, 3}, 2 * (432*1024 + 2*2304*1024 + (4608+9216+512)*256 + (18432+36864+2048)*64 + 640)},
	}
	for _, c := range cases {
		if got := c.model.FLOPs(c.example, 10); got != c.want {
			t.Errorf("%s %v: %d FLOPs, want %d", c.model.Arch, c.model.Widths, got, c.want)
		}
	}
}

func TestChannelGroups(t *testing.T) {
	groups := Model{Arch: "resnet8"}.ChannelGroups()
	got := fmt.Sprint(groups)
	want := "[{[stem/conv stage1/block1/b/conv] [stage1/block1/a/conv stage2/block1/a/conv stage2/block1/shortcut/conv] 16} " +
		"{[stage1/block1/a/conv] [stage1/block1/b/conv] 16} " +
		"{[stage2/block1/a/conv] [stage2/block1/b/conv] 32} " +
		"{[stage2/block1/b/conv stage2/block1/shortcut/conv] [stage3/block1/a/conv stage3/block1/shortcut/conv] 32} " +
		"{[stage3/block1/a/conv] [stage3/block1/b/conv] 64} " +
		"{[stage3/block1/b/conv stage3/block1/shortcut/conv] [logits] 64}]"
	if got != want {
		t.Errorf("resnet8 groups\n%s\nwant\n%s", got, want)
	}
	lenet := fmt.Sprint(Model{Arch: "lenet5"}.ChannelGroups())
	if want := "[{[conv1] [conv2] 6} {[conv2] [fc1] 16} {[fc1] [fc2] 120} {[fc2] [logits] 84}]"; lenet != want {
		t.Errorf("lenet5 groups %s, want %s", lenet, want)
	}
}

func TestWidthsValidate(t *testing.T) {
	for _, c := range []struct {
		widths map[string]int
		want   string
	}{
		{map[string]int{"conv1": 3}, ""},
		{map[string]int{"conv9": 3}, `widths: "conv9" is no layer`},
		{map[string]int{"logits": 3}, `widths: "logits" is no layer`},
		{map[string]int{"fc1": 0}, "needs at least one output"},
	} {
		err := Model{Arch: "lenet5", Widths: c.widths}.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.widths, err, c.want)
		}
	}
	err := Model{Arch: "resnet8", Widths: map[string]int{"stem/conv": 8}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "residual") {
		t.Errorf("stem resized alone: %v, want a residual-width error", err)
	}
}
