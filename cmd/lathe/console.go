package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// console draws a run's progress on a terminal: a bar redrawn in place with
// loss, accuracy and samples/s. When the output is not a terminal (CI logs,
// pipes) it prints a plain line every tenth of a stage instead.
type console struct {
	mu              sync.Mutex
	w               io.Writer
	tty             bool
	barShown        bool
	lastLine        time.Time
	stage           string
	started         time.Time // of the current stage, for the ETA
	lastDecile      int
	lastEpochDecile int
}

func newConsole(f *os.File) *console {
	c := &console{w: f}
	if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb" {
		c.tty = true
	}
	return c
}

func (c *console) Handle(e events.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e.Kind {
	case events.RunStarted:
		if strings.Contains(e.Message, "/") { // <recipe>/<variant>: one of several runs
			c.println("variant " + e.Message)
		}
	case events.Log:
		c.println(e.Message)
	case events.StageStarted:
		c.stage, c.started, c.lastDecile, c.lastEpochDecile = e.Stage, time.Now(), -1, -1
		c.println(fmt.Sprintf("stage %d: %s", e.StageIndex+1, e.Stage))
	case events.Step:
		c.step(e)
	case events.EpochEnded:
		// Long stages print about ten epoch lines, not hundreds.
		if decile := 10 * e.StageStep / max(e.Total, 1); decile == c.lastEpochDecile {
			return
		} else {
			c.lastEpochDecile = decile
		}
		line := fmt.Sprintf("epoch %d done in %s", e.Epoch, runs.FormatSeconds(e.Metrics[e.Phase+"epoch_s"]))
		if acc, ok := e.Metrics[e.Phase+"validation_accuracy"]; ok {
			line += fmt.Sprintf(": validation loss %.4f, accuracy %.2f%%", e.Metrics[e.Phase+"validation_loss"], 100*acc)
		}
		c.println(line)
	case events.Evaluated:
		for k, v := range e.Metrics {
			if strings.HasSuffix(k, "_accuracy") {
				c.println(fmt.Sprintf("%s: %.2f%%", strings.ReplaceAll(k, "_", " "), 100*v))
			}
		}
	case events.RunFinished:
		c.clearBar()
	}
}

func (c *console) step(e events.Event) {
	m := e.Metrics
	frac := float64(e.StageStep) / float64(max(e.Total, 1))
	eta := ""
	if frac > 0 && frac < 1 {
		left := time.Duration(float64(time.Since(c.started)) * (1 - frac) / frac)
		eta = " ETA " + left.Round(time.Second).String()
	}
	stats := fmt.Sprintf("%d/%d epoch %d loss %.4f acc %.2f%% %s samples/s%s",
		e.StageStep, e.Total, e.Epoch, m[e.Phase+"train_loss"], 100*m[e.Phase+"train_accuracy"], rate(m[e.Phase+"samples_per_s"]), eta)
	if !c.tty {
		if decile := int(frac * 10); decile > c.lastDecile {
			c.lastDecile = decile
			fmt.Fprintf(c.w, "  %s\n", stats)
		}
		return
	}
	if time.Since(c.lastLine) < 100*time.Millisecond && e.StageStep != e.Total {
		return // redraw at most ten times a second
	}
	c.lastLine = time.Now()
	const width = 24
	filled := int(frac * width)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	if filled < width {
		bar = strings.Repeat("=", filled) + ">" + strings.Repeat(" ", width-filled-1)
	}
	fmt.Fprintf(c.w, "\r\033[K  [%s] %s", bar, stats)
	c.barShown = true
}

func (c *console) println(s string) {
	c.clearBar()
	fmt.Fprintln(c.w, s)
}

func (c *console) clearBar() {
	if c.barShown {
		fmt.Fprint(c.w, "\r\033[K")
		c.barShown = false
	}
}

// Close leaves the terminal on a clean line.
func (c *console) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearBar()
}

func rate(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}
