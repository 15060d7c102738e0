package stages_test

import (
	"testing"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
)

// TestKindsThatChangeTheSessionCanRestore: every shipped kind that declares
// an effect a checkpoint does not hold can put it back on resume, a kind
// declares files exactly when it names them, and every kind can run.
func TestKindsThatChangeTheSessionCanRestore(t *testing.T) {
	for _, name := range recipe.Kinds() {
		kind, _ := recipe.LookupKind(name)
		settings := kind.New()
		if _, ok := settings.(runner.Stage); !ok {
			t.Errorf("kind %s: its settings cannot run", name)
		}
		if _, writes := settings.(recipe.FileWriter); writes != (kind.Effects&recipe.Files != 0) {
			t.Errorf("kind %s: declares files %v, names them %v", name, kind.Effects&recipe.Files != 0, writes)
		}
		_, restores := settings.(runner.Restorer)
		if kind.Effects&recipe.OnSession != 0 && !restores && kind.Effects&recipe.Unrestorable == 0 {
			t.Errorf("kind %s declares %s but has no Restore", name, kind.Effects&recipe.OnSession)
		}
	}
}
