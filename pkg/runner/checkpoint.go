package runner

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Checkpoints are GoMLX's format (checkpoints.Handler loads them, newest
// first, and hands each variable to the graph that first asks for it), but
// Lathe writes them itself. GoMLX v0.26.0's Handler.Save writes straight
// into the final names and drops write errors (it wraps the nil error
// instead of the write's), so a full disk left a 0-byte .json that looked
// like the newest checkpoint and blocked every resume. Here each file goes
// through a temporary name, fsync and rename (runs.CheckpointWriter).

// keepCheckpoints is how many checkpoints a run keeps: the newest and one
// before it, in case the newest is damaged.
const keepCheckpoints = 2

// checkpointHeader is the .json half of a GoMLX checkpoint, field for field.
type checkpointHeader struct {
	Params    []checkpointParam
	Variables []checkpointVar
	BinFormat string
}

type checkpointParam struct {
	Scope, Key string
	Value      any
	// ValueType is the Go type's name: GoMLX converts JSON numbers back by it.
	ValueType string
}

type checkpointVar struct {
	ParameterName string
	Dimensions    []int
	DType         dtypes.DType
	Pos, Length   int
}

// checkpointOutput wraps the data file's writer; tests replace it to
// inject a full disk.
var checkpointOutput = func(w io.Writer) io.Writer { return w }

// openCheckpoints prepares the run's checkpoint folder and loads its newest
// intact checkpoint, if any, into the context (lazily, as GoMLX does):
// damaged ones are set aside first, each reported.
func (s *Session) openCheckpoints() error {
	dir := s.store.CheckpointDir(s.RunID)
	damaged, intact, err := runs.SetAsideDamaged(dir)
	if err != nil {
		return err
	}
	for _, d := range damaged {
		s.Log("checkpoint %s is damaged (%v): set aside as %s", filepath.Base(d.Base), d.Reason, filepath.Base(d.MovedTo))
	}
	if len(damaged) > 0 && intact != "" {
		s.Log("checkpoint: using the newest intact one, %s", filepath.Base(intact))
	}
	if intact == "" {
		// Starting over would throw away the run's progress on what may be
		// a mistake: the user decides.
		if some, err := runs.HasDamaged(dir); err != nil {
			return err
		} else if some {
			return fmt.Errorf("run %s: every checkpoint in %s is damaged (set aside as damaged-…); to start the run again from the beginning, remove them", s.RunID, dir)
		}
	}
	// Keep(-1): Lathe prunes (runs.PruneCheckpoints); GoMLX only loads here.
	if s.ckpt, err = checkpoints.Build(s.Ctx).Dir(dir).Keep(-1).Done(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", intact, err)
	}
	s.ckptDir = dir
	s.checkpointed = intact != ""
	return nil
}

// writeCheckpoint saves every variable of ctx, and those loaded from a
// checkpoint that no graph has asked for yet, with ctx's params, as the
// newest checkpoint in dir; then it prunes all but the newest few.
func writeCheckpoint(ctx *gomlxctx.Context, loaded *checkpoints.Handler, dir string, step int) error {
	count, err := runs.NextCheckpointCount(dir)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("checkpoint-n%07d-%s-step-%08d", count, time.Now().Format("20060102-150405"), step)
	w, err := runs.NewCheckpointWriter(dir, base)
	if err != nil {
		return err
	}
	header := checkpointHeader{BinFormat: "gzip"}
	ctx.EnumerateParams(func(scope, key string, value any) {
		header.Params = append(header.Params, checkpointParam{Scope: scope, Key: key, Value: value, ValueType: fmt.Sprintf("%T", value)})
	})
	err = w.Write(".bin", func(out io.Writer) error {
		return writeVariables(checkpointOutput(out), ctx, loaded, &header)
	})
	if err == nil {
		err = w.Write(".json", func(out io.Writer) error {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "\t")
			return enc.Encode(header)
		})
	}
	if err == nil {
		err = w.Commit()
	}
	if err != nil {
		w.Abort()
		return err
	}
	return runs.PruneCheckpoints(dir, keepCheckpoints)
}

// writeVariables writes GoMLX's compressed data file: its magic, the
// compression's name, then the variables' raw bytes back to back, gzipped.
func writeVariables(out io.Writer, ctx *gomlxctx.Context, loaded *checkpoints.Handler, header *checkpointHeader) error {
	const magic, compression = "gomlx_checkpoints", "gzip"
	if _, err := io.WriteString(out, magic+string(rune(len(compression)))+compression); err != nil {
		return err
	}
	// Speed over size: checkpoints are frequent and mostly float noise.
	zw, err := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if err != nil {
		return err
	}
	pos := 0
	save := func(name string, t *tensors.Tensor) error {
		var werr error
		n := 0
		if err := t.ConstBytes(func(raw []byte) { n, werr = zw.Write(raw) }); err != nil {
			return fmt.Errorf("variable %s: %w", name, err)
		}
		if werr != nil {
			return werr
		}
		shape := t.Shape()
		header.Variables = append(header.Variables, checkpointVar{ParameterName: name, Dimensions: shape.Dimensions, DType: shape.DType, Pos: pos, Length: n})
		pos += n
		return nil
	}
	inCtx := map[string]bool{}
	for v := range ctx.IterVariables() {
		inCtx[v.ParameterName()] = true
		value, err := v.Value()
		if err != nil {
			return fmt.Errorf("variable %s: %w", v.ParameterName(), err)
		}
		if err := save(v.ParameterName(), value); err != nil {
			return err
		}
	}
	if loaded != nil {
		pending := loaded.LoadedVariables()
		names := make([]string, 0, len(pending))
		for name := range pending {
			if !inCtx[name] {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			if err := save(name, pending[name]); err != nil {
				return err
			}
		}
	}
	return zw.Close()
}

// loadModelVariables makes every variable of the current model exist in
// the context with its checkpointed value. GoMLX hands a checkpoint's
// variables over lazily, when a graph first asks for them, so right after
// a resume a stage that reads weights before any graph ran (one-shot
// pruning, sensitivity) would find none: the runner calls this before the
// first stage a run resumed at a stage boundary runs. It builds and runs the model once on a
// zero example.
func (s *Session) loadModelVariables() error {
	modelFn, err := s.Model.Spec.ModelFn(s.Model.NumClasses)
	if err != nil {
		return err
	}
	exec, err := gomlxctx.NewExec(s.Backend, s.Ctx, func(ctx *gomlxctx.Context, x *graph.Node) *graph.Node {
		return modelFn(ctx, nil, []*graph.Node{x})[0]
	})
	if err != nil {
		return err
	}
	defer exec.Finalize()
	example := s.Data.Train.ExampleShape
	size := 1
	for _, d := range example {
		size *= d
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(make([]float32, size), append([]int{1}, example...)...))
	if err != nil {
		return fmt.Errorf("loading the model's variables from the checkpoint: %w", err)
	}
	finalize(out...)
	return nil
}
