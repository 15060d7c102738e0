package recipe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/lathe-ml/lathe/recipes"
)

// Load reads ref as a recipe file when one exists there, else as the name
// of a shipped recipe (see package recipes): what `lathe run REF` and the
// notebooks accept.
func Load(ref string) (*Recipe, error) {
	if _, err := os.Stat(ref); err == nil {
		return ParseFile(ref)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("recipe %s: %w", ref, err)
	}
	src, err := recipes.Get(ref)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a recipe file nor a shipped recipe (shipped: %s)", ref, strings.Join(recipes.Names(), ", "))
	}
	return Parse(recipes.Path(ref), src)
}
