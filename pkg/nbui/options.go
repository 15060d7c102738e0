package nbui

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// FastSteps is how many steps each train stage takes in fast mode.
const FastSteps = 120

// EnvFast turns fast mode on when set to 1 (CI executes the notebooks so).
const EnvFast = "LATHE_FAST"

// Fast reports whether LATHE_FAST=1: notebooks train FastSteps steps per
// stage instead of the recipe's budget.
func Fast() bool { return os.Getenv(EnvFast) == "1" }

// Option changes how Run works.
type Option func(*config)

type config struct {
	backend  string
	runsDir  string
	steps    int // cap on each train stage's steps; 0: the recipe's own
	every    int
	noSteps  bool // Steps(0) given: ignore fast mode
	width    float64
	height   float64
	logLines bool
}

// Backend overrides the recipe's backend (as `lathe run --backend`).
func Backend(name string) Option { return func(c *config) { c.backend = name } }

// RunsDir records runs in dir instead of DefaultRunsDir(). ShowRun, ListRuns,
// Compare and PlotMetric read DefaultRunsDir(): set LATHE_RUNS to move them all.
func RunsDir(dir string) Option { return func(c *config) { c.runsDir = dir } }

// Steps caps every train stage at n steps (recorded as the fast_steps
// parameter); Steps(0) runs the recipe's full budget even in fast mode.
func Steps(n int) Option {
	return func(c *config) {
		c.steps = n
		c.noSteps = n == 0
	}
}

// RedrawEvery redraws the live view every n training steps (default: at
// most once a second).
func RedrawEvery(n int) Option { return func(c *config) { c.every = n } }

// PlotSize sets the live plot's size in inches (default 9×3.4).
func PlotSize(width, height float64) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// Logs shows the run's log lines (data, backend, plan) as it goes; on by default.
func Logs(on bool) Option { return func(c *config) { c.logLines = on } }

func newConfig(opts []Option) *config {
	c := &config{logLines: true}
	for _, o := range opts {
		o(c)
	}
	if c.steps == 0 && !c.noSteps && Fast() {
		c.steps = FastSteps
	}
	if c.runsDir == "" {
		c.runsDir = DefaultRunsDir()
	}
	return c
}

// DefaultRunsDir is where notebook runs are recorded: $LATHE_RUNS when set,
// else the runs folder at the root of the Lathe checkout the notebook sits
// in (where `lathe` run from that root keeps them; a notebook's working
// directory is its own folder, notebooks/), else runs.DefaultDir().
func DefaultRunsDir() string {
	if os.Getenv(runs.EnvDir) != "" {
		return runs.DefaultDir()
	}
	if root := repoRoot(); root != "" {
		return filepath.Join(root, "runs")
	}
	return runs.DefaultDir()
}

// repoRoot walks up from the working directory to the go.mod of module
// github.com/lathe-ml/lathe.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.TrimSpace(line) == "module github.com/lathe-ml/lathe" {
					return dir
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
