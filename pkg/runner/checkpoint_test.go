package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// cadenceRecipe checkpoints every 5 steps of 15-step epochs.
var cadenceRecipe = strings.Replace(blobsRecipe, "log_every: 5}", "log_every: 5, checkpoint_every: 5}", 1)

// checkpointSteps lists the global steps of the checkpoints in dir.
func checkpointSteps(t *testing.T, dir string) []int {
	t.Helper()
	list, err := runs.Checkpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, base := range list {
		var step int
		i := strings.LastIndex(base, "-step-")
		if _, err := fmt.Sscanf(base[i+len("-step-"):], "%d", &step); err != nil {
			t.Fatalf("checkpoint name %s: %v", base, err)
		}
		steps = append(steps, step)
	}
	return steps
}

// stoppedRun runs src in store and stops it once its stage reached step
// at (mid-epoch: epochs are 15 steps).
func stoppedRun(t *testing.T, store *runs.Store, src string, at int) *Result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Step && e.StageStep >= at {
			cancel()
		}
	})
	res, err := Run(ctx, mustParse(t, src), Options{Store: store, Sinks: []events.Sink{stop}})
	if err != ErrStopped {
		t.Fatalf("stopping at step %d: %v", at, err)
	}
	return res
}

// logged collects a run's log lines.
func logged(lines *[]string) events.Sink {
	return events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Log {
			*lines = append(*lines, e.Message)
		}
	})
}

// sameEnd checks that a resumed run ended where an uninterrupted one does.
func sameEnd(t *testing.T, got, want *Result) {
	t.Helper()
	if got.Status != runs.Finished {
		t.Fatalf("resumed run %s", got.Status)
	}
	g, w := got.Final["test_loss"], want.Final["test_loss"]
	if math.Abs(g-w) > 1e-6*math.Abs(w) {
		t.Errorf("test loss after resuming %.9g, uninterrupted %.9g", g, w)
	}
}

// TestCheckpointCadence: checkpoint_every saves inside epochs, every file
// of every checkpoint is whole, and only the newest two are kept.
func TestCheckpointCadence(t *testing.T) {
	store := openStore(t)
	var saves []int
	checkpointOutput = func(w io.Writer) io.Writer {
		saves = append(saves, len(saves))
		return w
	}
	defer func() { checkpointOutput = func(w io.Writer) io.Writer { return w } }()
	res, err := Run(context.Background(), mustParse(t, cadenceRecipe), Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	dir := store.CheckpointDir(res.RunID)
	steps := checkpointSteps(t, dir)
	// 45 steps: saves at 5, 10, 15 (epoch end), … 45; the newest two remain.
	if len(saves) != 9 {
		t.Errorf("%d checkpoints saved, want 9", len(saves))
	}
	if len(steps) != 2 || steps[0] != 40 || steps[1] != 45 {
		t.Errorf("checkpoints at steps %v, want [40 45]", steps)
	}
	list, _ := runs.Checkpoints(dir)
	for _, base := range list {
		if err := runs.VerifyCheckpoint(base); err != nil {
			t.Errorf("%s: %v", filepath.Base(base), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("checkpoint folder holds %d files, want 2 pairs", len(entries))
	}
}

// failingWriter fails with ENOSPC once n bytes went through, as a full disk does.
type failingWriter struct {
	w io.Writer
	n int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, syscall.ENOSPC
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// TestDiskFullDuringACheckpoint: a save that fails half-way (the disk is
// full) fails the run with the error recorded, leaves no partial file, and
// the run resumes from the newest intact checkpoint to the same end as an
// uninterrupted run.
func TestDiskFullDuringACheckpoint(t *testing.T) {
	whole, err := Run(context.Background(), mustParse(t, cadenceRecipe), Options{Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	saves := 0
	checkpointOutput = func(w io.Writer) io.Writer {
		saves++
		if saves == 3 { // steps 5 and 10 are saved; step 15's runs out of space
			return &failingWriter{w: w, n: 300}
		}
		return w
	}
	defer func() { checkpointOutput = func(w io.Writer) io.Writer { return w } }()
	store := openStore(t)
	res, err := Run(context.Background(), mustParse(t, cadenceRecipe), Options{Store: store})
	if !errors.Is(err, syscall.ENOSPC) || res.Status != runs.Failed {
		t.Fatalf("got %v (%v), want a failed run with ENOSPC", err, res.Status)
	}
	run, _ := store.Get(res.RunID)
	if run.Status != runs.Failed || !strings.Contains(run.Error, "no space left on device") || !strings.Contains(run.Error, "last good checkpoint is at global step 10") {
		t.Errorf("stored %s with error %q", run.Status, run.Error)
	}
	dir := store.CheckpointDir(res.RunID)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "checkpoint-") {
			t.Errorf("left %s behind", e.Name())
		}
	}
	if steps := checkpointSteps(t, dir); len(steps) != 2 || steps[1] != 10 {
		t.Errorf("checkpoints at %v, want [5 10]", steps)
	}
	checkpointOutput = func(w io.Writer) io.Writer { return w } // space freed
	resumed, err := Resume(context.Background(), store, res.RunID, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameEnd(t, resumed, whole)
}

// TestDamagedNewestCheckpoint: a newest checkpoint that is damaged (a
// 0-byte header, a truncated or corrupt data file, a missing data file) is
// set aside, said so, and the run resumes from the intact one before it.
func TestDamagedNewestCheckpoint(t *testing.T) {
	whole, err := Run(context.Background(), mustParse(t, cadenceRecipe), Options{Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string]func(base string) error{
		"0-byte header":      func(base string) error { return os.Truncate(base+".json", 0) },
		"truncated data":     func(base string) error { return os.Truncate(base+".bin", 100) },
		"missing data":       func(base string) error { return os.Remove(base + ".bin") },
		"corrupt compressed": func(base string) error { return flipByte(base+".bin", 200) },
	}
	for name, harm := range damage {
		t.Run(name, func(t *testing.T) {
			store := openStore(t)
			first := stoppedRun(t, store, cadenceRecipe, 20)
			dir := store.CheckpointDir(first.RunID)
			list, _ := runs.Checkpoints(dir)
			newest := list[len(list)-1]
			if err := harm(newest); err != nil {
				t.Fatal(err)
			}
			var lines []string
			res, err := Resume(context.Background(), store, first.RunID, Options{Sinks: []events.Sink{logged(&lines)}})
			if err != nil {
				t.Fatal(err)
			}
			log := strings.Join(lines, "\n")
			if !strings.Contains(log, "checkpoint "+filepath.Base(newest)+" is damaged") || !strings.Contains(log, "set aside as damaged-") ||
				!strings.Contains(log, "using the newest intact one") {
				t.Errorf("log does not say what happened:\n%s", log)
			}
			if _, err := os.Stat(filepath.Join(dir, "damaged-"+filepath.Base(newest)+".json")); err != nil && name != "0-byte header" {
				t.Errorf("damaged checkpoint not kept aside: %v", err)
			}
			sameEnd(t, res, whole)
		})
	}
}

func flipByte(path string, at int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err = f.WriteAt(b, at)
	return err
}

// TestResumeWithoutACheckpointStartsOver: a run that ended before its
// first checkpoint (killed early, or stopped while loading data) is
// started again from the beginning, saying so, and ends as an
// uninterrupted run does, with no point recorded twice.
func TestResumeWithoutACheckpointStartsOver(t *testing.T) {
	whole, err := Run(context.Background(), mustParse(t, blobsRecipe), Options{Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stopped before any step: as ctrl-c while the data loads
	first, err := Run(ctx, mustParse(t, blobsRecipe), Options{Store: store})
	if err != ErrStopped {
		t.Fatalf("first part: %v", err)
	}
	// A killed run also leaves points after its last checkpoint: none here.
	if err := store.AppendMetrics(first.RunID, []runs.Point{{Stage: 1, Step: 3, Name: "loss", Value: 9}}); err != nil {
		t.Fatal(err)
	}
	var lines []string
	res, err := Resume(context.Background(), store, first.RunID, Options{Sinks: []events.Sink{logged(&lines)}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "has no checkpoint (it ended before the first was saved); starting it again from the beginning") {
		t.Errorf("no notice in %q", lines)
	}
	sameEnd(t, res, whole)
	if loss, _ := store.Series(res.RunID, "loss"); len(loss) != 9 {
		t.Errorf("loss series has %d points, want 9", len(loss))
	}
}

// TestCheckpointEveryValues: checkpoint_every takes steps or a duration.
func TestCheckpointEveryValues(t *testing.T) {
	for value, want := range map[string]string{"200": "", `"90s"`: "", `"10m"`: "", "0": "checkpoint_every must be", `"0.5s"`: "checkpoint_every must be", `"often"`: "checkpoint_every must be"} {
		_, err := recipe.Parse("c.yaml", []byte(strings.Replace(blobsRecipe, "log_every: 5}", "log_every: 5, checkpoint_every: "+value+"}", 1)))
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("checkpoint_every: %s: %v", value, err)
		}
	}
	rec := mustParse(t, strings.Replace(blobsRecipe, "log_every: 5}", "log_every: 5, checkpoint_every: \"90s\"}", 1))
	if tr := rec.Stages[1].Settings.(*TrainStage); tr.CheckpointEveryTime != 90*time.Second || tr.CheckpointEvery != 0 {
		t.Errorf("90s read as %+v", tr)
	}
	if tr := mustParse(t, blobsRecipe).Stages[1].Settings.(*TrainStage); tr.CheckpointEveryTime != DefaultCheckpointEvery {
		t.Errorf("default cadence %v", tr.CheckpointEveryTime)
	}
}

// TestNothingRecordedForARecipeThatCannotRun: what the backend cannot do
// is found before the run is recorded, with the recipe position. (fp16 is
// refused by GoMLX's simplego; compute's Go backend has float16.)
func TestNothingRecordedForARecipeThatCannotRun(t *testing.T) {
	for change, want := range map[string]string{
		"log_every: 5, devices: 4}":      "test.yaml:8:5: stage 2 (train): devices: 4 requested, the go backend has 1",
		"log_every: 5, precision: fp16}": "test.yaml:8:5: stage 2 (train): precision fp16: the go backend has no float16",
	} {
		store := openStore(t)
		src := strings.Replace(strings.Replace(blobsRecipe, "log_every: 5}", change, 1), "backend: go", "backend: simplego", 1)
		_, err := Run(context.Background(), mustParse(t, src), Options{Store: store})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", change, err, want)
		}
		if list, _ := store.List(); len(list) != 0 {
			t.Errorf("%s: %d runs recorded", change, len(list))
		}
	}
}

// TestResumedWallTimeLeavesOutTheGap: a resumed run's wall time (wall_s,
// and the duration the store reports) is the time it worked, not the
// time it sat stopped.
func TestResumedWallTimeLeavesOutTheGap(t *testing.T) {
	store := openStore(t)
	first := stoppedRun(t, store, blobsRecipe, 20)
	const gap = 1500 * time.Millisecond
	time.Sleep(gap)
	res, err := Resume(context.Background(), store, first.RunID, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, _ := store.Get(res.RunID)
	span := run.Finished.Sub(run.Started)
	worked := time.Duration(res.Final["wall_s"] * float64(time.Second))
	if worked < time.Duration(first.Final["wall_s"]*float64(time.Second)) || worked > span-gap+100*time.Millisecond {
		t.Errorf("wall_s %v: want the first part (%.2fs) and the resumed one, not the %v gap (span %v)", worked, first.Final["wall_s"], gap, span)
	}
	if d := run.Duration(); (d - worked).Abs() > time.Millisecond {
		t.Errorf("stored duration %v, wall_s %v", d, worked)
	}
}

// TestEveryCheckpointDamaged: with no intact checkpoint left, resume does
// not start over on its own (that would throw away the run's metrics on
// what may be a mistake): it fails saying so, and once the damaged ones
// are removed, starts again from the beginning.
func TestEveryCheckpointDamaged(t *testing.T) {
	store := openStore(t)
	first := stoppedRun(t, store, cadenceRecipe, 20)
	dir := store.CheckpointDir(first.RunID)
	list, _ := runs.Checkpoints(dir)
	for _, base := range list {
		if err := os.Truncate(base+".bin", 10); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Resume(context.Background(), store, first.RunID, Options{})
	if err == nil || !strings.Contains(err.Error(), "every checkpoint in "+dir+" is damaged") {
		t.Fatalf("got %v", err)
	}
	if loss, _ := store.Series(first.RunID, "loss"); len(loss) == 0 {
		t.Error("the run's metrics were deleted")
	}
	damaged, _ := filepath.Glob(filepath.Join(dir, "damaged-*"))
	for _, f := range damaged {
		os.Remove(f)
	}
	var lines []string
	res, err := Resume(context.Background(), store, first.RunID, Options{Sinks: []events.Sink{logged(&lines)}})
	if err != nil || res.Status != runs.Finished || !strings.Contains(strings.Join(lines, "\n"), "starting it again from the beginning") {
		t.Errorf("after removing them: %v, %v, %q", res, err, lines)
	}
}

// TestEachTrainStageStartsItsOptimizerAfresh: a second train stage's
// cosine schedule runs over its own steps from its own start (PyTorch: a
// new optimizer and scheduler), not on from the first stage's step count;
// and a run stopped inside it resumes to the same end.
func TestEachTrainStageStartsItsOptimizerAfresh(t *testing.T) {
	src := strings.Replace(blobsRecipe, "  - evaluate: {split: test}\n  - train:",
		"  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}, log_every: 1}\n  - train:", 1)
	src = strings.Replace(src, "epochs: 3, optimizer: {name: adam, learning_rate: 0.01}, schedule: {name: step, step_size: 15, gamma: 0.5}, log_every: 5",
		"epochs: 2, optimizer: {name: adam, learning_rate: 0.01}, schedule: cosine, log_every: 1", 1)
	lr := map[int]float64{}
	watch := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Step && e.StageIndex == 1 {
			lr[e.StageStep] = e.Metrics["learning_rate"]
		}
	})
	whole, err := Run(context.Background(), mustParse(t, src), Options{Store: openStore(t), Sinks: []events.Sink{watch}})
	if err != nil {
		t.Fatal(err)
	}
	// After update k of 30 the rate is that of step k-1: 0.01·(1+cos(π(k-1)/30))/2.
	for k, want := range map[int]float64{1: 0.01, 16: 0.005, 30: 0.01 * (1 + math.Cos(math.Pi*29/30)) / 2} {
		if math.Abs(lr[k]-want) > 1e-7 {
			t.Errorf("stage 2 step %d: learning rate %.8g, want %.8g", k, lr[k], want)
		}
	}
	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	stop := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Step && e.StageIndex == 1 && e.StageStep >= 20 {
			cancel()
		}
	})
	first, err := Run(ctx, mustParse(t, src), Options{Store: store, Sinks: []events.Sink{stop}})
	if err != ErrStopped {
		t.Fatal(err)
	}
	resumed, err := Resume(context.Background(), store, first.RunID, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameEnd(t, resumed, whole)

	// Stopped between the stages: the checkpoint holds the first stage's
	// optimizer state, still unloaded when the second starts, which must
	// not bring it back.
	store = openStore(t)
	ctx, cancel = context.WithCancel(context.Background())
	between := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.StageFinished && e.StageIndex == 0 {
			cancel()
		}
	})
	if first, err = Run(ctx, mustParse(t, src), Options{Store: store, Sinks: []events.Sink{between}}); err != ErrStopped {
		t.Fatal(err)
	}
	if resumed, err = Resume(context.Background(), store, first.RunID, Options{}); err != nil {
		t.Fatal(err)
	}
	sameEnd(t, resumed, whole)
}

// TestPreflightChecksEveryVariant: a later variant the backend cannot run
// is found before any runs.
func TestPreflightChecksEveryVariant(t *testing.T) {
	src := blobsRecipe + "variants:\n  - {name: plain}\n  - {name: half, precision: fp16}\n"
	err := Preflight(mustParse(t, src), "simplego")
	if err == nil || !strings.Contains(err.Error(), "test.yaml:8:5: stage 2 (train): precision fp16: the go backend has no float16") {
		t.Errorf("got %v", err)
	}
	if err := Preflight(mustParse(t, blobsRecipe), "go"); err != nil {
		t.Error(err)
	}
}
