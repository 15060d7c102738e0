package export

import (
	"fmt"
	"slices"

	"github.com/lathe-ml/lathe/pkg/runner"
)

// SourceOf is what the session's current model exports from.
func SourceOf(s *runner.Session) Source {
	names := s.Data.Train.ClassNames
	if len(names) == 0 {
		for i := 0; i < s.Model.NumClasses; i++ {
			names = append(names, fmt.Sprint(i))
		}
	}
	return Source{Backend: s.Backend, Ctx: s.Ctx, Spec: s.Model.Spec, Example: slices.Clone(s.Data.Train.ExampleShape),
		Classes: names, Mean: s.Data.Mean, Std: s.Data.Std, Means: s.Data.Means, Stds: s.Data.Stds, Producer: "lathe run " + s.RunID}
}
