// Package recipes holds the recipes shipped with Lathe, embedded in the
// binary so `lathe run quickstart` works from any directory.
//
// Example:
//
//	src, err := recipes.Get("quickstart")
//	rec, err := recipe.Parse(recipes.Path("quickstart"), src)
package recipes

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Names lists the shipped recipes, sorted.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Path is how a shipped recipe is named in messages: recipes/NAME.yaml.
func Path(name string) string { return path.Join("recipes", name+".yaml") }

// Get returns a shipped recipe's text.
func Get(name string) ([]byte, error) {
	src, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no shipped recipe %q (shipped: %s)", name, strings.Join(Names(), ", "))
	}
	return src, nil
}
