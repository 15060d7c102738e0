package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/onnx"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
)

func init() {
	recipe.Register(recipe.Kind{Name: "export", Keys: []string{"formats", "dtype", "name", "check"}, Effects: recipe.Files, Results: exportDeclaration,
		New: func() recipe.Settings {
			return &Stage{Formats: []string{"safetensors"}, DType: "f32", Name: "model", CheckOn: "test"}
		}})
}

// Formats are the files an export stage writes.
var Formats = []string{"safetensors", "onnx"}

// Stage is the `export` recipe stage: it writes the current model — as the
// stages before it left it: trained, pruned — into the run's folder as a
// Lathe model file (<name>.safetensors, for package infer, `lathe predict`
// and `lathe bench infer`) and, when asked, as ONNX (<name>.onnx), then
// checks the runtime against the GoMLX graph on a split.
//
//   - export: {formats: [safetensors, onnx], dtype: f32, check: test}
//
// Its results are the bytes of each file (safetensors_bytes, onnx_bytes)
// and of the weights in it (export_weight_bytes), and, unless check is
// none, the fraction of the split's examples on which runtime and graph
// pick the same class (export_agreement), their largest relative logit
// difference (export_max_diff) and the runtime's accuracy
// (export_<split>_accuracy).
type Stage struct {
	Formats []string
	// DType of the safetensors file's weights: f32 or bf16 (ONNX is f32).
	DType string
	// Name is the files' base name in the run's folder.
	Name string
	// CheckOn is the split the file is checked on (the check key), or none.
	CheckOn string
}

var baseName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Set implements recipe.Settings.
func (st *Stage) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	switch f.Key {
	case "formats":
		var items []recipe.Node
		if items, err = d.List(f.Value, "formats"); err != nil {
			return err
		}
		st.Formats = nil
		for _, it := range items {
			var format string
			if format, err = d.Enum(it, "format", Formats); err != nil {
				return err
			}
			if slices.Contains(st.Formats, format) {
				return d.Errorf(it, "format %s is listed twice", format)
			}
			st.Formats = append(st.Formats, format)
		}
		if len(st.Formats) == 0 {
			return d.Errorf(f.Value, "formats must list at least one of safetensors, onnx")
		}
	case "dtype":
		st.DType, err = d.Enum(f.Value, "dtype", []string{"f32", "bf16"})
	case "name":
		if st.Name, err = d.String(f.Value, "name"); err == nil && !baseName.MatchString(st.Name) {
			err = d.Errorf(f.Value, "name %q: want a file name without a folder (letters, digits, '.', '_', '-')", st.Name)
		}
	case "check":
		st.CheckOn, err = d.Enum(f.Value, "check", append([]string{"none"}, recipe.Splits...))
	}
	return err
}

// Check implements recipe.Settings.
func (st *Stage) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	if st.CheckOn == "validation" && rec.Data.Validation == 0 {
		return d.Errorf(at, "export checks on the validation split but data.validation is 0")
	}
	if st.DType == "bf16" && !slices.Contains(st.Formats, "safetensors") {
		return d.Errorf(at, "dtype bf16 applies to the safetensors file, which formats does not list (ONNX export is f32)")
	}
	return nil
}

// ModelFiles implements recipe.ModelWriter.
func (st *Stage) ModelFiles() []string {
	if slices.Contains(st.Formats, "safetensors") {
		return []string{st.Name}
	}
	return nil
}

// Files implements recipe.FileWriter: a file per format.
func (st *Stage) Files() []string {
	var out []string
	for _, format := range st.Formats {
		out = append(out, st.Name+"."+format)
	}
	return out
}

// PlannedSteps implements recipe.Settings: exporting takes no steps.
func (st *Stage) PlannedSteps(int) int { return 0 }

// String describes the stage in a few words.
func (st *Stage) String() string {
	s := fmt.Sprintf("export %v", st.Formats)
	if st.DType != "f32" {
		s += " " + st.DType
	}
	return s
}

// Run implements runner.Stage.
func (st *Stage) Run(_ context.Context, s *runner.Session) (map[string]float64, error) {
	src := SourceOf(s)
	if st.DType == "bf16" {
		src.DType = infer.BF16
	}
	file, err := Build(src)
	if err != nil {
		return nil, err
	}
	dir, err := s.RunDir()
	if err != nil {
		return nil, err
	}
	if dir == "" { // a run that is not recorded has nowhere to keep files
		dir, err = os.MkdirTemp("", "lathe-export-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	res := map[string]float64{}
	var weights int
	for _, t := range file.Tensors {
		weights += len(t.Data)
	}
	res["export_weight_bytes"] = float64(weights)
	for _, format := range st.Formats {
		path := filepath.Join(dir, st.Name+"."+format)
		switch format {
		case "safetensors":
			err = file.WriteFile(path)
		case "onnx":
			// From the same tensors: bf16 weights are written as the f32
			// values they round to (ONNX export is f32).
			var g *infer.Graph
			if g, err = infer.GraphOf(file); err == nil {
				err = onnx.WriteFile(path, g, file.Tensors)
			}
		}
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		res[format+"_bytes"] = float64(info.Size())
		s.Log("wrote %s (%d bytes)", path, info.Size())
	}
	if st.CheckOn == "none" {
		return res, nil
	}
	set := s.Data.Split(st.CheckOn)
	if set == nil {
		return nil, fmt.Errorf("export: the run holds out no %s split", st.CheckOn)
	}
	m, err := infer.New(file)
	if err != nil {
		return nil, err
	}
	a, err := Check(src, m, set.Features, set.Labels)
	if err != nil {
		return nil, err
	}
	res["export_agreement"] = a.Same
	res["export_max_diff"] = a.MaxDiff
	res["export_"+st.CheckOn+"_accuracy"] = a.Accuracy
	s.Log("export check on %d %s examples: runtime and graph agree on %.2f%%, largest logit difference %.2g (%s kernels)",
		a.Examples, st.CheckOn, 100*a.Same, a.MaxDiff, m.Kernels())
	return res, nil
}
