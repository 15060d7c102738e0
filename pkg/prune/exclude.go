package prune

import (
	"strings"

	"github.com/lathe-ml/lathe/pkg/recipe"
)

// Exclusions are the layers a stage leaves alone, as a recipe names them
// (`exclude: [conv1, stage1]`): a layer, or a group of them by a prefix
// up to a "/" ("stage1" is every layer of stage 1).
type Exclusions struct {
	Names []string
	at    map[string]recipe.Node // where each is written, for errors
}

// Set reads the list of names.
func (e *Exclusions) Set(d *recipe.Decoder, n recipe.Node) error {
	items, err := d.List(n, "exclude")
	if err != nil {
		return err
	}
	e.Names, e.at = nil, map[string]recipe.Node{}
	for _, it := range items {
		name, err := d.String(it, "an excluded layer")
		if err != nil {
			return err
		}
		e.Names = append(e.Names, name)
		e.at[name] = it
	}
	return nil
}

// Keeps reports whether layer is not excluded.
func (e Exclusions) Keeps(layer string) bool {
	for _, name := range e.Names {
		if covers(name, layer) {
			return false
		}
	}
	return true
}

// Kept lists the layers not excluded.
func (e Exclusions) Kept(layers []string) []string {
	var out []string
	for _, l := range layers {
		if e.Keeps(l) {
			out = append(out, l)
		}
	}
	return out
}

// Check refuses a name that is no layer of the recipe's model, and an
// exclusion of every layer; stage names the stage kind in the error.
func (e Exclusions) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe, stage string) error {
	layers := rec.Model.Layers()
	for _, name := range e.Names {
		found := false
		for _, l := range layers {
			found = found || covers(name, l)
		}
		if !found {
			return d.Errorf(e.at[name], "%s: exclude names no layer of the %s model: %q (its layers: %s)", stage, rec.Model.Arch, name, strings.Join(layers, ", "))
		}
	}
	if len(e.Kept(layers)) == 0 {
		return d.Errorf(at, "%s: every layer of the %s model is excluded", stage, rec.Model.Arch)
	}
	return nil
}

// covers reports whether an exclusion name covers layer.
func covers(name, layer string) bool {
	return layer == name || strings.HasPrefix(layer, strings.TrimSuffix(name, "/")+"/")
}
