package nbui_test

import (
	"github.com/lathe-ml/lathe/pkg/nbui"
)

// Outside a notebook nbui prints what it would display. In a GoNB cell the
// same call shows the line in the cell's output, green when the recipe is
// valid, and red with file:line:col and the allowed keys when it is not.
func ExampleValidate() {
	const text = `
name: my-spirals
data: {dataset: spirals, batch_size: 64, validation: 200}
model: {arch: mlp, hidden: [128]}
stages:
  - train: {epochs: 30, optimizer: {name: sgd, learning_rate: 0.1}}
`
	nbui.Validate("my-spirals.yaml", text)
	// Output:
	// ok: my-spirals — spirals, mlp[128], batch 64; train 30 epochs with sgd (lr 0.1, constant schedule)
}

// Run trains a shipped recipe with a live plot (in a notebook) and records
// it in the run store; Compare overlays the runs of a recipe's variants.
func ExampleRun() {
	out, err := nbui.Run("quickstart")
	nbui.Must(err)
	_ = out.Results[0].RunID // the run, as `lathe show` names it
	nbui.Must(nbui.Compare("train_loss", "optimizers-compare"))
}
