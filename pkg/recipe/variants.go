package recipe

import (
	"fmt"
	"slices"
)

// variants decodes the variants list. A variant has a name, optionally a
// seed, and overrides of stage settings written either by kind
// (`prune: {target_sparsity: 0.9}`: every stage of that kind) or as bare
// keys (`optimizer: sgd`: every stage whose kind has that key).
func (d *Decoder) variants(n Node, base *Recipe) ([]Variant, error) {
	items, err := d.List(n, "variants")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, d.Errorf(n, "variants is empty: remove it or list at least one")
	}
	allowed := variantKeys(base)
	seen := map[string]bool{}
	var out []Variant
	for i, item := range items {
		what := fmt.Sprintf("variant %d", i+1)
		fields, err := d.Fields(item, what, allowed)
		if err != nil {
			return nil, err
		}
		v := Variant{Seed: base.Seed, Params: map[string]string{}}
		byKind := map[string][]Field{} // overrides for each stage kind
		for _, f := range fields {
			switch f.Key {
			case "name":
				if v.Name, err = d.String(f.Value, "variant name"); err == nil && !namePattern.MatchString(v.Name) {
					err = d.Errorf(f.Value, "variant name %s must use only letters, digits, '.', '_' and '-'", quoted(v.Name))
				}
			case "seed":
				v.Seed, err = d.Int64(f.Value, "seed", 0)
			default:
				err = d.override(f, base, byKind)
			}
			if err != nil {
				return nil, err
			}
		}
		if v.Name == "" {
			return nil, d.Errorf(item, "%s needs a name", what)
		}
		if seen[v.Name] {
			return nil, d.Errorf(item, "duplicate variant name %s", quoted(v.Name))
		}
		seen[v.Name] = true
		for _, st := range base.Stages {
			kind, _ := LookupKind(st.Kind)
			if err := st.decode(d, kind, byKind[st.Kind]); err != nil {
				return nil, err
			}
			if err := st.check(d, base); err != nil {
				return nil, err
			}
			v.Stages = append(v.Stages, st)
		}
		if err := d.checkFiles(v.Stages, fmt.Sprintf("variant %s: ", quoted(v.Name))); err != nil {
			return nil, err
		}
		flatten("variant", item, v.Params)
		out = append(out, v)
	}
	return out, nil
}

// override files one variant key under the stage kinds it applies to.
func (d *Decoder) override(f Field, base *Recipe, byKind map[string][]Field) error {
	if kind, ok := LookupKind(f.Key); ok && stageKindsOf(base)[f.Key] {
		fields, err := d.Fields(f.Value, "variant's "+f.Key+" settings", kind.Keys)
		if err != nil {
			return err
		}
		byKind[f.Key] = append(byKind[f.Key], fields...)
		return nil
	}
	for name := range stageKindsOf(base) {
		if kind, _ := LookupKind(name); slices.Contains(kind.Keys, f.Key) {
			byKind[name] = append(byKind[name], f)
		}
	}
	return nil
}

// stageKindsOf is the set of kinds the recipe's stages use.
func stageKindsOf(r *Recipe) map[string]bool {
	out := map[string]bool{}
	for _, st := range r.Stages {
		out[st.Kind] = true
	}
	return out
}

// variantKeys are the keys a variant of this recipe may write: name, seed,
// the kinds of its stages and those kinds' keys.
func variantKeys(r *Recipe) []string {
	keys := []string{"name", "seed"}
	for name := range stageKindsOf(r) {
		kind, _ := LookupKind(name)
		keys = append(keys, name)
		for _, k := range kind.Keys {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys[2:])
	return keys
}
