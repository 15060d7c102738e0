// Package tui is `lathe dash`: a terminal dashboard that watches the run
// store while runs write to it, from any number of other processes.
//
// It shows every run in a sortable, filterable table (status, stage, step
// against the steps planned, best accuracy, duration, backend); one run's
// live charts (loss, accuracy, learning rate, throughput and any
// technique's series such as sparsity, loss scale or quantization ranges,
// with smoothing and log scale; a pruned run's sparsity curve comes with a
// bar per layer and the weights left; a quantized run has a panel of its
// int8 model's size, accuracy and speed against the float one's, and each
// layer's SQNR and input range), its stage timeline with progress and
// ETA, and its recipe's parameters; several runs' curves overlaid with
// their final metrics side by side, sparsity and nonzero weights first
// when any of them pruned, int8 size and latency when any quantized
// (marked runs, or a recipe's variant runs such as optimizers-compare's
// optimizers); the machine's and the training processes' CPU, memory and
// GPU use. It starts recipes as separate processes, which keep running
// after the dashboard quits, and stops runs cleanly.
//
// The program has bubbletea's Elm shape: Model composes small sub-models
// (runsTable, runView, compareView, systemPanel, launcher); a tick polls
// the store in a command and the results come back as messages; only
// Update changes state, and View draws exactly the terminal's size. Charts
// are ntcharts line charts drawn in braille; colours come from lipgloss and
// fall away on terminals without them (NO_COLOR, pipes), where symbols
// mark statuses and series instead.
//
// Example:
//
//	err := tui.Run(tui.Options{Dir: "runs"}) // blocks until q or ctrl+c
package tui
