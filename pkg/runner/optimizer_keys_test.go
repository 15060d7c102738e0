package runner_test

import (
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/recipe"
)

// TestKeysThatDoNotApply: a hyper-parameter the chosen optimizer or
// schedule would ignore is a positioned error, like an unknown key; the
// ones it takes are accepted.
func TestKeysThatDoNotApply(t *testing.T) {
	const head = "name: k\ndata: {dataset: blobs}\nmodel: {arch: mlp}\nstages:\n  - train:\n      epochs: 1\n"
	cases := []struct{ stage, want string }{
		{"      optimizer: {name: adam, momentum: 0.9}\n", "k.yaml:7:31: momentum does not apply to the adam optimizer (it takes learning_rate, betas, eps, weight_decay, amsgrad)"},
		{"      optimizer: {name: sgd, betas: [0.9, 0.99]}\n", "k.yaml:7:30: betas does not apply to the sgd optimizer"},
		{"      optimizer: {name: sgd, amsgrad: true}\n", "k.yaml:7:30: amsgrad does not apply to the sgd optimizer"},
		{"      optimizer: {name: lion, eps: 1e-8}\n", "eps does not apply to the lion optimizer"},
		{"      optimizer: {name: adagrad, nesterov: true}\n", "nesterov does not apply to the adagrad optimizer"},
		{"      schedule: {name: cosine, gamma: 0.5}\n", "k.yaml:7:32: gamma does not apply to the cosine schedule (it takes warmup_steps, min_learning_rate)"},
		{"      schedule: {name: constant, gamma: 0.5}\n", "gamma does not apply to the constant schedule (it takes no other keys)"},
		{"      schedule: {name: step, step_size: 10, gamma: 0.5, warmup_steps: 5}\n", "warmup_steps does not apply to the step schedule (it takes step_size, gamma)"},
		{"      schedule: {name: exponential, gamma: 0.9, pct_start: 0.2}\n", "pct_start does not apply to the exponential schedule"},
		// Keys in the order a user might write them: the name last.
		{"      optimizer: {momentum: 0.9, name: adamw}\n", "k.yaml:7:19: momentum does not apply to the adamw optimizer"},
	}
	for _, c := range cases {
		_, err := recipe.Parse("k.yaml", []byte(head+c.stage))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", strings.TrimSpace(c.stage), err, c.want)
		}
	}
	for _, ok := range []string{
		"      optimizer: {name: sgd, momentum: 0.9, dampening: 0.1, weight_decay: 1e-4}\n",
		"      optimizer: {name: rmsprop, momentum: 0.9, alpha: 0.9, centered: true, eps: 1e-6}\n",
		"      optimizer: {name: adam, betas: [0.8, 0.9], amsgrad: true}\n",
		"      optimizer: {name: adagrad, lr_decay: 0.01, initial_accumulator_value: 0.1}\n",
		"      schedule: {name: onecycle, max_learning_rate: 0.1, pct_start: 0.2, div_factor: 10, final_div_factor: 100}\n",
		"      schedule: {name: cosine, warmup_steps: 5, min_learning_rate: 1e-5}\n",
	} {
		if _, err := recipe.Parse("k.yaml", []byte(head+ok)); err != nil {
			t.Errorf("%s: %v", strings.TrimSpace(ok), err)
		}
	}
}
