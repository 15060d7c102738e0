// Package stages links every stage kind Lathe ships, so a program that
// imports it parses and runs any shipped recipe: the built-in train and
// evaluate (package runner) and the techniques (prune, …), each of which
// registers itself with package recipe.
//
//	import _ "github.com/lathe-ml/lathe/pkg/stages"
package stages

import (
	_ "github.com/lathe-ml/lathe/pkg/distill"  // distill
	_ "github.com/lathe-ml/lathe/pkg/export"   // export
	_ "github.com/lathe-ml/lathe/pkg/prune"    // prune, sensitivity
	_ "github.com/lathe-ml/lathe/pkg/quant"    // quantize
	_ "github.com/lathe-ml/lathe/pkg/runner"   // train, evaluate
	_ "github.com/lathe-ml/lathe/pkg/tradeoff" // report
)
