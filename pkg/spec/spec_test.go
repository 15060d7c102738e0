package spec

import (
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
