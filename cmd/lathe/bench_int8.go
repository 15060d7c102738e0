package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/quant"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// An int8 model and its float twin, as `lathe bench infer` compares them:
// the quantize stage writes <name>.safetensors (int8) and
// <name>.f32.safetensors (the float model it quantized) side by side.

// f32TwinSuffix ends the float twin's file name.

// benchPair is what `lathe bench infer` times: a float model, and the
// int8 model quantized from it when there is one.
type benchPair struct {
	f32, int8 *infer.File
	// versus is a second float model (--vs of another float file, a
	// structured-pruned one say): both are timed side by side.
	versus            *infer.File
	versusName        string
	name              string // the whole, for the report's first line
	f32Name, int8Name string
}

// isInt8 reports whether any layer of the file is an int8 layer.
func isInt8(f *infer.File) bool {
	g, err := infer.GraphOf(f)
	if err != nil {
		return false
	}
	for _, op := range g.Ops {
		if op.Quantized(f.Tensors) {
			return true
		}
	}
	return false
}

// readModel reads and plans a model file, refusing ONNX files by name.
func readModel(path string) (*infer.File, error) {
	if err := refuseONNX(path); err != nil {
		return nil, err
	}
	f, err := infer.ReadFile(path, 0)
	if err != nil {
		return nil, err
	}
	if _, err := infer.New(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// benchInputs resolves `lathe bench infer ARG [--vs FILE]`: an int8 file
// with its float twin (given by --vs, or <x>.f32.safetensors beside
// <x>.safetensors), a float twin whose int8 file lies beside it, a run
// whose folder holds its quantize stage's two files, or else a float
// model alone (a file, or a finished run's final model), as before.
func benchInputs(g *globalFlags, arg, vs string) (*benchPair, error) {
	info, statErr := os.Stat(arg)
	isFile := statErr == nil && info.Mode().IsRegular()
	if !isFile {
		if vs != "" {
			return nil, fmt.Errorf("--vs %s: goes with a model file; %s is not one (a run brings its quantize stage's float twin itself)", vs, arg)
		}
		if p, err := runQuantizeFiles(g, arg); p != nil || err != nil {
			return p, err
		}
		f, name, err := modelFile(g, arg)
		if err != nil {
			return nil, err
		}
		return &benchPair{f32: f, name: name, f32Name: name}, nil
	}
	f, err := readModel(arg)
	if err != nil {
		return nil, err
	}
	if vs == "" {
		if !isInt8(f) {
			// A quantize stage's float twin: its int8 file is beside it.
			if infer.IsTwin(arg) {
				sibling := strings.TrimSuffix(arg, infer.Float32TwinSuffix) + infer.Ext
				if q, err := readModel(sibling); err == nil && isInt8(q) {
					return pairOf(q, sibling, f, arg)
				}
			}
			return &benchPair{f32: f, name: arg, f32Name: arg}, nil
		}
		twin := strings.TrimSuffix(arg, infer.Ext) + infer.Float32TwinSuffix
		if _, err := os.Stat(twin); err != nil {
			return nil, fmt.Errorf("%s is an int8 model and its float twin %s is not there: give the float model with --vs F32FILE", arg, twin)
		}
		t, err := readModel(twin)
		if err != nil {
			return nil, err
		}
		return pairOf(f, arg, t, twin)
	}
	other, err := readModel(vs)
	if err != nil {
		return nil, fmt.Errorf("--vs: %w", err)
	}
	switch a, b := isInt8(f), isInt8(other); {
	case a && b:
		return nil, fmt.Errorf("--vs %s is an int8 model too: give the float model %s was quantized from", vs, arg)
	case !a && !b:
		return &benchPair{f32: f, versus: other, name: arg + " vs " + vs, f32Name: arg, versusName: vs}, nil
	case a:
		return pairOf(f, arg, other, vs)
	default:
		return pairOf(other, vs, f, arg)
	}
}

// pairOf pairs an int8 model with its float twin, refusing a float model
// whose graph is not the int8 one's.
func pairOf(q *infer.File, qName string, f *infer.File, fName string) (*benchPair, error) {
	if err := sameGraph(q, f); err != nil {
		return nil, fmt.Errorf("%s is not the float twin of %s: %v", fName, qName, err)
	}
	return &benchPair{f32: f, int8: q, name: qName + " vs " + fName, f32Name: fName, int8Name: qName}, nil
}

// sameGraph checks that two models run the same ops on the same shapes
// (the int8 one's weights I8, the other's float).
func sameGraph(q, f *infer.File) error {
	gq, err := infer.GraphOf(q)
	if err != nil {
		return err
	}
	gf, err := infer.GraphOf(f)
	if err != nil {
		return err
	}
	if !slices.Equal(gq.Input.Shape, gf.Input.Shape) {
		return fmt.Errorf("input %v, the int8 model's %v", gf.Input.Shape, gq.Input.Shape)
	}
	if len(gq.Ops) != len(gf.Ops) {
		return fmt.Errorf("%d ops, the int8 model's %d", len(gf.Ops), len(gq.Ops))
	}
	sq, err := gq.Shapes(q.Tensors)
	if err != nil {
		return err
	}
	sf, err := gf.Shapes(f.Tensors)
	if err != nil {
		return err
	}
	for i, a := range gf.Ops {
		b := gq.Ops[i]
		where := fmt.Sprintf("op %d (%s %q)", i+1, a.Op, a.Name)
		switch {
		case a.Op != b.Op || a.Name != b.Name:
			return fmt.Errorf("%s where the int8 model has %s %q", where, b.Op, b.Name)
		case !slices.Equal(a.Inputs, b.Inputs):
			return fmt.Errorf("%s takes %v, the int8 model's %v", where, a.Inputs, b.Inputs)
		case !slices.Equal(f.Tensors[a.Weights].Shape, q.Tensors[b.Weights].Shape):
			return fmt.Errorf("%s has weights %v, the int8 model's %v", where, f.Tensors[a.Weights].Shape, q.Tensors[b.Weights].Shape)
		case !slices.Equal(sf[a.Name], sq[b.Name]):
			return fmt.Errorf("%s gives %v, the int8 model's %v", where, sf[a.Name], sq[b.Name])
		}
	}
	if gq.Output != gf.Output {
		return fmt.Errorf("output %q, the int8 model's %q", gf.Output, gq.Output)
	}
	return nil
}

// runQuantizeFiles is a run's quantize stage's two files (the recipe's
// last quantize stage names them), or nil when the run has none: then its
// final model is timed alone.
func runQuantizeFiles(g *globalFlags, ref string) (*benchPair, error) {
	store, err := runs.OpenExisting(storeDir(g))
	if err != nil {
		return nil, nil // modelFile says why, as before
	}
	defer store.Close()
	run, err := store.Get(ref)
	if err != nil {
		if errors.Is(err, runs.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	rec, err := recipe.Parse(run.RecipePath, []byte(run.Recipe))
	if err != nil {
		return nil, nil
	}
	if v := run.Params[recipe.VariantParam]; v != "" {
		if one, ok := rec.Variant(v); ok {
			rec = one
		}
	}
	name := ""
	for _, st := range rec.Stages {
		if q, ok := st.Settings.(*quant.Stage); ok {
			name = q.Name
		}
	}
	if name == "" {
		return nil, nil
	}
	dir := store.RunDir(run.ID)
	qPath, fPath := filepath.Join(dir, infer.FileName(name)), filepath.Join(dir, infer.TwinName(name))
	_, qErr := os.Stat(qPath)
	_, fErr := os.Stat(fPath)
	switch {
	case qErr != nil && fErr != nil:
		fmt.Fprintf(os.Stderr, "run %s: its quantize stage wrote no %s: timing its float model alone\n", run.ID, qPath)
		return nil, nil
	case fErr != nil:
		return nil, fmt.Errorf("run %s: %s is there but its float twin %s is not", run.ID, qPath, fPath)
	}
	q, err := readModel(qPath)
	if err != nil {
		return nil, err
	}
	f, err := readModel(fPath)
	if err != nil {
		return nil, err
	}
	p, err := pairOf(q, qPath, f, fPath)
	if err != nil {
		return nil, err
	}
	p.name = fmt.Sprintf("run %s (%s): %s vs %s", run.ID, run.Name, filepath.Base(qPath), filepath.Base(fPath))
	return p, nil
}
