package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stagesRecipe goes through every kind that writes files or changes the
// model, with a model large enough (1M parameters, files of 4 MB) that a
// kill often lands inside an export or a quantization.
const stagesRecipe = `name: stages
seed: 3
backend: go
data: {dataset: blobs, batch_size: 64, validation: 400, train_size: 4000, test_size: 500}
model: {arch: mlp, hidden: [1024, 1024]}
stages:
  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 0.001}, log_every: 10, checkpoint_every: 20}
  - sensitivity: {sparsities: [0.5], target_sparsity: 0.5, split: validation}
  - prune: {target_sparsity: 0.5, schedule: oneshot, layers: sensitivity}
  - quantize: {mode: qat}
  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.0005}, log_every: 10, checkpoint_every: 20}
  - export: {name: pruned, formats: [safetensors, onnx]}
  - quantize: {mode: ptq, name: combined, calibration_batches: 2}
  - report: {models: {baseline: pruned, combined: combined}, train_steps: 2, seconds: 0.2}
`

// stale matches what an unfinished write leaves: atomicfile's temporaries.
var stale = regexp.MustCompile(`^\..+\.tmp-[0-9]+$`)

// TestKill9InEveryStage kills `lathe run`, then each `lathe resume`, at
// random moments of the whole run — inside sensitivity, export, quantize
// and report as well as training — and checks that the run finishes, that
// no unfinished file is left in its folder, and that every logged step is
// in its series once.
func TestKill9InEveryStage(t *testing.T) {
	kills := 5
	if longFaults() {
		kills = 20
	}
	dir := recipeDir(t, stagesRecipe)
	start := time.Now()
	if r := runLathe(t, dir, "run", "faults.yaml"); r.code != 0 {
		t.Fatalf("uninterrupted: exit %d\n%s", r.code, r.stderr)
	}
	whole := time.Since(start)
	os.RemoveAll(filepath.Join(dir, "runs"))

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	p := startLathe(t, dir, "run", "faults.yaml")
	id, temps := "", 0
	for i := 0; i < kills; i++ {
		if i == kills-1 && id != "" {
			// The last kill lands inside the export, as a user's ctrl-\ might:
			// its files are being written then.
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if _, errOut := p.output(t); strings.Contains(errOut, ": export") || p.cmd.ProcessState != nil {
					break
				}
			}
			time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(rng.Int64N(int64(whole) / int64(kills))))
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code >= 0 {
			t.Logf("kill %d: the run had ended (exit %d)", i+1, code)
			break
		}
		if id == "" {
			if id = newestRun(dir); id == "" {
				p = startLathe(t, dir, "run", "faults.yaml")
				continue
			}
		}
		temps += len(staleFiles(t, dir, id))
		p = startLathe(t, dir, "resume", id)
	}
	if code := p.wait(t); code != 0 {
		_, errOut := p.output(t)
		t.Fatalf("final resume: exit %d\n%s", code, errOut)
	}
	if status, msg, _ := shown(t, dir, id); status != "finished" {
		t.Fatalf("status %s (%s)", status, msg)
	}
	if left := staleFiles(t, dir, id); len(left) > 0 {
		t.Errorf("unfinished files left in the run's folder: %v", left)
	}
	checkSeries(t, dir, id, 10, 2*56, "the finished run") // the first train stage: 2 epochs of 56 steps
	t.Logf("%d kills; %d unfinished files found after them, none left at the end", kills, temps)
}

func staleFiles(t *testing.T, dir, id string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "runs", id))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if stale.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestFileTooLargeDuringExportAndQuantize: a file-size limit below the
// 4 MB model files (as a full disk would) fails an export or a quantize
// stage with an error naming the file, leaves no unfinished file, and the
// run resumes to the end once the limit is gone.
func TestFileTooLargeDuringExportAndQuantize(t *testing.T) {
	for _, c := range []struct{ name, stages, file string }{
		{"export", "  - export: {name: m, formats: [safetensors, onnx]}\n", "m.safetensors"},
		{"quantize", "  - quantize: {mode: ptq, name: q, calibration_batches: 2}\n", "q.f32.safetensors"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.SplitAfter(stagesRecipe, "stages:\n")[0] +
				"  - train: {steps: 30, checkpoint: false, optimizer: {name: adam, learning_rate: 0.001}}\n" + c.stages
			dir := recipeDir(t, src)
			p := startLathe(t, dir, "run", "faults.yaml")
			limit := unix.Rlimit{Cur: 2 << 20, Max: 2 << 20}
			if err := unix.Prlimit(p.cmd.Process.Pid, unix.RLIMIT_FSIZE, &limit, nil); err != nil {
				t.Skipf("cannot limit the file size: %v", err)
			}
			code := p.wait(t)
			_, errOut := p.output(t)
			id := newestRun(dir)
			status, msg, _ := shown(t, dir, id)
			if code == 0 || status != "failed" || !strings.Contains(msg, c.file) || !strings.Contains(msg, "file too large") {
				t.Fatalf("exit %d, status %s, error %q\n%s", code, status, msg, errOut)
			}
			if left := staleFiles(t, dir, id); len(left) > 0 {
				t.Errorf("unfinished files left: %v", left)
			}
			if r := runLathe(t, dir, "resume", id); r.code != 0 {
				t.Fatalf("resume once the limit is gone: exit %d\n%s", r.code, r.stderr)
			}
			if status, msg, _ := shown(t, dir, id); status != "finished" {
				t.Errorf("after resuming: %s (%s)", status, msg)
			}
		})
	}
}
