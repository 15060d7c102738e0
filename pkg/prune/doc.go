// Package prune makes a model smaller by removing what it can do without:
// single weights under masks (unstructured pruning), or whole neurons and
// filters, after which the model is rebuilt with smaller variables
// (structured pruning), and it measures how much each layer can lose
// (sensitivity analysis). It is the seed's §3.1.2 as recipe stages.
//
// Unstructured: masks multiply the weights where they enter the graph and
// again after every optimizer update (Masks), recomputed by magnitude,
// per layer or with one global threshold, at once or on Zhu & Gupta's
// schedule (Schedule) while training goes on:
//
//	stages:
//	  - prune: {target_sparsity: 0.9, begin_step: 0, end_step: 2000, frequency: 100, exclude: [conv1]}
//	  - train: {epochs: 5}
//
// Structured: channels ranked by L1, L2 or first-order Taylor scores
// (PlanChannels), silenced in the full-size model (ZeroChannels), then cut
// out along every layer that reads them (Shrink). At once, then
// fine-tuned:
//
//	stages:
//	  - train: {epochs: 3}
//	  - prune: {structure: channels, target_sparsity: 0.5}
//	  - train: {epochs: 3}
//
// or gradually, channel masks (ChannelMasks) following the schedule during
// the training after the stage, the model rebuilt smaller when the train
// stage in which the schedule ends is over:
//
//	stages:
//	  - prune: {structure: channels, schedule: gradual, target_sparsity: 0.5, end_step: 1200, frequency: 40}
//	  - train: {epochs: 4}
//
// From Go, the same steps on a context holding a trained model m:
//
//	plan, err := prune.PlanChannels(ctx, m, prune.L1, nil, func(spec.ChannelGroup) (float64, bool) { return 0.5, true })
//	err = prune.ZeroChannels(ctx, plan)
//	small, err := prune.Shrink(ctx, plan, m.ActivationAtZero()) // build graphs of small on ctx
package prune
