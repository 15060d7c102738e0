// Package nbui is Lathe inside a Jupyter notebook (the GoNB kernel): run a
// recipe with a live-updating plot and metrics table, look at a finished
// run and the files its stages wrote, summarize a model, compare runs, draw
// a layer's weights from runs' checkpoints, and show dataset images.
//
// A run started here goes to the same run store as `lathe run` (see
// RunsDir), so it appears in `lathe ls`, `lathe show` and `lathe dash`.
// Variant runs are grouped the way `lathe run` groups them, so
// `lathe compare <recipe>` finds them too.
//
// Live output redraws in place: the plot and the table are each one display
// output, created on the first draw and replaced (Jupyter's
// update_display_data, through a GoNB display id) on every later one, so a
// run of ten thousand steps leaves one plot in the notebook, not hundreds.
// Every live output carries metadata (lathe_live, lathe_redraws,
// lathe_step) that the notebook tests read back.
//
// With LATHE_FAST=1 in the environment every train stage is cut to
// FastSteps steps (recorded with the run as the fast_steps parameter), so
// the tutorials execute in CI in seconds.
//
// Outside a notebook (a test, a plain program) the same calls print text to
// standard output, so examples and tests can run them.
//
// Example (cells of a GoNB notebook):
//
//	%%
//	out, err := nbui.Run("quickstart")       // live plot + table while it trains
//	nbui.Must(err)
//	fmt.Println("run", out.Results[0].RunID)
//
//	%%
//	nbui.Must(nbui.Compare("train_loss", "optimizers-compare"))  // overlay + table
package nbui
