package nbui

import (
	"fmt"
	"github.com/lathe-ml/lathe/pkg/runs"
	"html"
	"strings"
	"sync"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/lathe-ml/lathe/pkg/events"
)

// Live is an events.Sink that keeps one plot (loss and accuracy against the
// step, one line per run) and one metrics table up to date while runs train.
// Both are single display outputs redrawn in place. One Live may follow
// several runs, the variants of a recipe, overlaid.
type Live struct {
	// Every redraws after this many training steps; 0 redraws at most once a
	// second. Epoch ends redraw too (unless the last draw was under a quarter
	// second ago); evaluations and the end of a run always do.
	Every int
	// Width and Height of the plot in inches.
	Width, Height float64
	// ShowLogs lists the runs' log lines (backend, data, plan) under the table.
	ShowLogs bool

	mu       sync.Mutex
	out      Display
	plotID   string
	tableID  string
	runs     []*liveRun
	byID     map[string]*liveRun
	lastStep int
	lastDraw time.Time
	redraws  int
	logs     []string // the runs' log lines, shown under the table
	err      error
}

type liveRun struct {
	id, name string
	started  time.Time
	status   string
	step     int // global, as the plot's x
	stage    int // step within the running stage, of total
	total    int
	epoch    int
	last     map[string]float64 // latest step metrics
	loss     []xy               // train_loss (moving average) per logged step
	trainAcc []xy
	valAcc   []xy // per epoch
	valLoss  []xy
	sparsity []xy // per logged step, while a prune stage's schedule runs
	final    map[string]float64
}

type xy struct{ x, y float64 }

// NewLive returns a live view drawing on the current display.
func NewLive() *Live {
	id := gonbui.UniqueId()
	return &Live{Width: 9, Height: 3.4, ShowLogs: true, out: display(), plotID: "lathe-plot-" + id, tableID: "lathe-table-" + id,
		byID: map[string]*liveRun{}}
}

// Redraws is how many times the view was drawn.
func (l *Live) Redraws() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.redraws
}

// Err is the first error drawing met (a plot that failed to render); the
// run itself is never stopped by it.
func (l *Live) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Handle implements events.Sink.
func (l *Live) Handle(e events.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.byID[e.RunID]
	if e.Kind == events.RunStarted || r == nil {
		if r == nil {
			r = &liveRun{id: e.RunID, name: e.Message, started: e.Time, status: "running", last: map[string]float64{}}
			if e.Kind != events.RunStarted {
				r.name = e.RunID
			}
			l.byID[e.RunID] = r
			l.runs = append(l.runs, r)
		}
		if e.Kind == events.RunStarted {
			l.lastStep = 0 // steps count from 1 again in each run
			l.draw()
			return
		}
	}
	draw := false
	switch e.Kind {
	case events.Log:
		if !l.ShowLogs {
			break
		}
		line := e.Message
		if len(l.runs) > 1 {
			line = shortName(r.name, 2) + ": " + line
		}
		l.logs = append(l.logs, line)
	case events.Step:
		r.step, r.stage, r.total, r.epoch = e.Step, e.StageStep, e.Total, e.Epoch
		for k, v := range e.Metrics {
			r.last[k] = v
		}
		x := float64(e.Step)
		if v, ok := e.Metrics["train_loss"]; ok {
			r.loss = append(r.loss, xy{x, v})
		}
		if v, ok := e.Metrics["train_accuracy"]; ok {
			r.trainAcc = append(r.trainAcc, xy{x, v})
		}
		if v, ok := e.Metrics["sparsity"]; ok {
			r.sparsity = append(r.sparsity, xy{x, v})
		}
		if l.Every > 0 {
			draw = e.Step-l.lastStep >= l.Every
		} else {
			draw = time.Since(l.lastDraw) >= time.Second
		}
	case events.EpochEnded:
		x := float64(e.Step)
		if v, ok := e.Metrics["validation_accuracy"]; ok {
			r.valAcc = append(r.valAcc, xy{x, v})
			r.last["validation_accuracy"] = v
		}
		if v, ok := e.Metrics["validation_loss"]; ok {
			r.valLoss = append(r.valLoss, xy{x, v})
		}
		// Short epochs (a small dataset) would otherwise redraw faster than
		// anyone can read and slow training with it.
		draw = time.Since(l.lastDraw) >= epochRedrawGap
	case events.Evaluated:
		for k, v := range e.Metrics {
			r.last[k] = v
		}
		draw = true
	case events.RunFinished:
		r.status = e.Message
		r.final = e.Metrics
		draw = true
	}
	if draw {
		l.lastStep = e.Step
		l.draw()
	}
}

// draw renders the plot and the table; called with l.mu held.
func (l *Live) draw() {
	l.redraws++
	l.lastDraw = time.Now()
	step := 0
	for _, r := range l.runs {
		step = max(step, r.step)
	}
	meta := func(kind string) map[string]any {
		return map[string]any{"lathe_live": kind, "lathe_redraws": l.redraws, "lathe_step": step}
	}
	plotOut := Output{Text: fmt.Sprintf("[plot: %d runs, step %d]", len(l.runs), step), Meta: meta("plot")}
	png, err := l.plot()
	switch {
	case err != nil:
		if l.err == nil {
			l.err = err
		}
		plotOut.HTML = `<pre style="color:#b00">plot: ` + html.EscapeString(err.Error()) + "</pre>"
	case png == nil: // the first draw comes before any step: hold the plot's place above the table
		plotOut.HTML = "<i>waiting for the first training steps…</i>"
	default:
		plotOut.PNG = png
	}
	l.out.Update(l.plotID, plotOut)
	l.out.Update(l.tableID, Output{HTML: l.tableHTML(), Text: l.tableText(), Meta: meta("table")})
}

func (l *Live) columns() []string {
	cols := []string{"run", "status", "step", "epoch", "loss", "train acc", "val acc", "test acc", "lr", "samples/s", "elapsed"}
	if l.pruning() {
		cols = append(cols, "sparsity")
	}
	return cols
}

// pruning reports whether a run reports its sparsity (a prune stage runs):
// the view then adds a sparsity panel and column. Called with l.mu held.
func (l *Live) pruning() bool {
	for _, r := range l.runs {
		if len(r.sparsity) > 0 {
			return true
		}
	}
	return false
}

func (l *Live) rows() [][]string {
	var out [][]string
	for _, r := range l.runs {
		steps := "-"
		if r.step > 0 {
			steps = fmt.Sprint(r.step)
			// total counts the running stage's steps: after a first train
			// stage the global step runs ahead of it.
			switch {
			case r.total > 0 && (r.stage == 0 || r.stage == r.step):
				steps = fmt.Sprintf("%d / %d", r.step, r.total)
			case r.total > 0:
				steps = fmt.Sprintf("%d (stage %d / %d)", r.step, r.stage, r.total)
			}
		}
		elapsed := time.Since(r.started)
		if w, ok := r.final["wall_s"]; ok {
			elapsed = time.Duration(w * float64(time.Second))
		}
		row := []string{r.name, r.status, steps, intOrDash(r.epoch),
			num(r.last, "train_loss", "%.4f"), pct(r.last, "train_accuracy"), pct(r.last, "validation_accuracy"),
			pct(r.last, "test_accuracy"), num(r.last, "learning_rate", "%.3g"), num(r.last, "samples_per_s", "%.0f"),
			elapsed.Round(100 * time.Millisecond).String()}
		if l.pruning() {
			row = append(row, pct(r.last, "sparsity"))
		}
		out = append(out, row)
	}
	return out
}

// epochRedrawGap is the least time between a draw and an epoch end's redraw.
const epochRedrawGap = 250 * time.Millisecond

// logLimit is how many of the latest log lines the table shows.
const logLimit = 12

func (l *Live) tableHTML() string {
	h := htmlTable(l.columns(), l.rows())
	if len(l.logs) > 0 {
		logs := l.logs[max(0, len(l.logs)-logLimit):]
		h += `<pre style="margin:4px 0 0 0;color:#555;font-size:11px;white-space:pre-wrap">` + html.EscapeString(strings.Join(logs, "\n")) + "</pre>"
	}
	return h
}

func (l *Live) tableText() string {
	var b strings.Builder
	for _, row := range l.rows() {
		fmt.Fprintf(&b, "%s: %s step %s loss %s acc %s val %s", row[0], row[1], row[2], row[4], row[5], row[6])
		if len(row) > 11 {
			fmt.Fprintf(&b, " sparsity %s", row[11])
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

func intOrDash(v int) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprint(v)
}

func num(m map[string]float64, key, format string) string {
	if v, ok := m[key]; ok {
		return fmt.Sprintf(format, v)
	}
	return "-"
}

func pct(m map[string]float64, key string) string {
	if v, ok := m[key]; ok {
		return runs.FormatPercent(v)
	}
	return "-"
}

// htmlTable renders a small, readable table; cells are escaped.
func htmlTable(cols []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-family:monospace;font-size:12px">`)
	b.WriteString("<tr>")
	for _, c := range cols {
		fmt.Fprintf(&b, `<th style="text-align:left;padding:2px 10px;border-bottom:1px solid #999">%s</th>`, html.EscapeString(c))
	}
	b.WriteString("</tr>")
	for _, row := range rows {
		b.WriteString("<tr>")
		for _, c := range row {
			fmt.Fprintf(&b, `<td style="text-align:left;padding:2px 10px">%s</td>`, html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return b.String()
}
