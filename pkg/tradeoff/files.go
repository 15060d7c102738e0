package tradeoff

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Pick names a model file of a run's folder (its base name) and the role
// it plays in the report ("" for none).
type Pick struct {
	Role, Name string
	at         recipe.Node // where a recipe names it, for errors
}

// RunModels finds the model files of a run: the picked ones, in order,
// or with none picked every Lathe model file of its folder except a
// quantize stage's float twins (<x>.f32.safetensors), oldest first. Each
// carries the training time that preceded it.
func RunModels(r *runs.Run, dir string, picks []Pick) ([]Model, error) {
	if len(picks) == 0 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		type file struct {
			name string
			at   time.Time
		}
		var files []file
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, infer.Ext) || infer.IsTwin(name) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				return nil, err
			}
			files = append(files, file{strings.TrimSuffix(name, infer.Ext), info.ModTime()})
		}
		sort.SliceStable(files, func(i, j int) bool { return files[i].at.Before(files[j].at) })
		for _, f := range files {
			picks = append(picks, Pick{Name: f.name})
		}
		if len(picks) == 0 {
			return nil, fmt.Errorf("run %s: its folder %s holds no model file (an export or quantize stage writes one)", r.ID, dir)
		}
	}
	var out []Model
	for _, p := range picks {
		path := filepath.Join(dir, infer.FileName(p.Name))
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("run %s: model %s: %w", r.ID, p.Name, err)
		}
		out = append(out, Model{Role: p.Role, Name: p.Name, Run: r.ID, Path: path, TrainS: TrainTimeBefore(r, info.ModTime())})
	}
	return out, nil
}

// clockLag is how far a file's modification time may trail the wall
// clock: the kernel stamps files from a coarse clock (a tick, a few ms),
// so a file written right after a stage started can look older than it.
const clockLag = 50 * time.Millisecond

// TrainTimeBefore is the training behind a file written at at: how long
// the run's train stages before the stage that wrote it took (the last
// stage started by then). NaN when no stage that trains came before it.
func TrainTimeBefore(r *runs.Run, at time.Time) float64 {
	writer := -1
	for _, st := range r.Stages {
		if !st.Started.After(at.Add(clockLag)) {
			writer = max(writer, st.Index)
		}
	}
	total, any := 0.0, false
	for _, st := range r.Stages {
		ps, ok := r.Plan.Stage(st.Index)
		if !ok || !ps.HasSteps || st.Index >= writer || st.Finished.IsZero() {
			continue
		}
		total += st.Finished.Sub(st.Started).Seconds()
		any = true
	}
	if !any {
		return math.NaN()
	}
	return total
}
