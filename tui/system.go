package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/sparkline"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// systemSample is one reading of the machine and of the training processes.
// CPU use is a rate, so each sample carries the counters the next one
// subtracts; samples are values passed through messages, never shared.
type systemSample struct {
	at                time.Time
	cores             int
	cpuBusy, cpuTotal float64 // machine CPU seconds so far, for the next delta
	cpuPercent        float64 // of the whole machine, 0–100; valid when cpuOK
	cpuOK             bool
	memUsed, memTotal uint64
	memOK             bool
	procs             map[int]procStat
	gpu               gpuReading
	err               string
}

// procStat is one training process.
type procStat struct {
	cpuSeconds float64 // user+system so far
	cpuPercent float64 // of one core (200% = two cores busy); valid when cpuOK
	cpuOK      bool
	rss        uint64
	threads    int32
}

type systemMsg systemSample

type systemTickMsg struct{}

// sampleSystem reads the machine and processes pids, computing rates
// against prev. It runs inside a tea.Cmd.
func sampleSystem(prev systemSample, pids []int) systemSample {
	s := systemSample{at: time.Now(), procs: map[int]procStat{}}
	if n, err := cpu.Counts(true); err == nil {
		s.cores = n
	}
	if ts, err := cpu.Times(false); err == nil && len(ts) > 0 {
		t := ts[0]
		total := t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
		s.cpuBusy, s.cpuTotal = total-t.Idle-t.Iowait, total
		if d := s.cpuTotal - prev.cpuTotal; prev.cpuTotal > 0 && d > 0 {
			s.cpuPercent, s.cpuOK = max(0, min(100, 100*(s.cpuBusy-prev.cpuBusy)/d)), true
		}
	} else if err != nil {
		s.err = err.Error()
	}
	if vm, err := mem.VirtualMemory(); err == nil {
		s.memUsed, s.memTotal, s.memOK = vm.Used, vm.Total, true
	}
	for _, pid := range pids {
		p, err := process.NewProcess(int32(pid))
		if err != nil {
			continue
		}
		var ps procStat
		if t, err := p.Times(); err == nil {
			ps.cpuSeconds = t.User + t.System
			if old, ok := prev.procs[pid]; ok && s.at.After(prev.at) {
				ps.cpuPercent = max(0, 100*(ps.cpuSeconds-old.cpuSeconds)/s.at.Sub(prev.at).Seconds())
				ps.cpuOK = true
			}
		}
		if mi, err := p.MemoryInfo(); err == nil {
			ps.rss = mi.RSS
		}
		ps.threads, _ = p.NumThreads()
		s.procs[pid] = ps
	}
	s.gpu = readGPUs()
	return s
}

// systemPanel shows machine CPU and memory with their recent history, the
// processes of running runs, and GPUs where nvidia-smi sees them.
type systemPanel struct {
	sample   systemSample
	cpuHist  []float64
	memHist  []float64
	names    map[int]string // pid -> run name, of running runs
	disabled bool
}

const histLen = 60

func (p systemPanel) withSample(s systemSample) systemPanel {
	p.sample = s
	if s.cpuOK {
		p.cpuHist = appendCapped(p.cpuHist, s.cpuPercent)
	}
	if s.memOK && s.memTotal > 0 {
		p.memHist = appendCapped(p.memHist, 100*float64(s.memUsed)/float64(s.memTotal))
	}
	return p
}

func appendCapped(h []float64, v float64) []float64 {
	h = append(h, v)
	if len(h) > histLen {
		h = append([]float64(nil), h[len(h)-histLen:]...)
	}
	return h
}

func spark(hist []float64, w int, st styles) string {
	if w <= 0 {
		return ""
	}
	sl := sparkline.New(w, 1, sparkline.WithMaxValue(100), sparkline.WithNoAutoMaxValue(), sparkline.WithStyle(seriesStyle(0)))
	if len(hist) > w {
		hist = hist[len(hist)-w:]
	}
	sl.PushAll(hist)
	sl.Draw()
	return sl.View()
}

// machineLine: "cpu ▂▅▇ 43% of 2 cores  mem ▃▃▄ 5.1/7.8 GiB  gpu none visible".
func (p systemPanel) machineLine(st styles, sparkW int) string {
	s := p.sample
	if s.at.IsZero() {
		return st.dim.Render("reading system use…")
	}
	var parts []string
	cpuText := "-"
	if s.cpuOK {
		cpuText = fmt.Sprintf("%3.0f%%", s.cpuPercent)
	}
	if s.cores > 0 {
		cpuText += fmt.Sprintf(" of %d cores", s.cores)
	}
	parts = append(parts, st.label.Render("cpu ")+spark(p.cpuHist, sparkW, st)+" "+cpuText)
	if s.memOK {
		parts = append(parts, st.label.Render("mem ")+spark(p.memHist, sparkW, st)+" "+
			fmt.Sprintf("%s/%s", bytesText(s.memUsed), bytesText(s.memTotal)))
	}
	parts = append(parts, st.label.Render("gpu ")+gpuText(s.gpu))
	return strings.Join(parts, "  ")
}

func gpuText(g gpuReading) string {
	switch {
	case !g.available:
		return "none visible"
	case g.err != "":
		return "unreadable (" + g.err + ")"
	case len(g.gpus) == 0:
		return "none"
	}
	var parts []string
	for _, d := range g.gpus {
		util := "n/a"
		if d.util >= 0 {
			util = fmt.Sprintf("%.0f%%", d.util)
		}
		parts = append(parts, fmt.Sprintf("%d: %s %s/%s", d.index, util, mibText(d.memUsed), mibText(d.memTotal)))
	}
	return strings.Join(parts, ", ")
}

// procLine describes the training processes: "spirals pid 4242 cpu 180% rss 350 MiB".
func (p systemPanel) procLine(pids []int, st styles) string {
	if len(pids) == 0 {
		return st.dim.Render("no run is training on this machine")
	}
	var parts []string
	for _, pid := range pids {
		ps, ok := p.sample.procs[pid]
		name := p.names[pid]
		if !ok {
			parts = append(parts, fmt.Sprintf("%s pid %d …", name, pid))
			continue
		}
		cpuText := "-"
		if ps.cpuOK {
			cpuText = fmt.Sprintf("%.0f%%", ps.cpuPercent)
		}
		t := fmt.Sprintf("%s cpu %s rss %s", st.bold.Render(name), cpuText, bytesText(ps.rss))
		if v, ok := p.sample.gpu.procMiB[pid]; ok {
			t += " gpu " + mibText(v)
		}
		t += st.dim.Render(fmt.Sprintf(" pid %d", pid))
		parts = append(parts, t)
	}
	return strings.Join(parts, st.dim.Render(" · "))
}

// view renders the panel in h lines (1 or 2) of width w, for the training
// processes pids. On one line the machine's part is compact, so the
// training process still fits at 80 columns.
func (p systemPanel) view(st styles, w, h int, pids []int) string {
	if p.disabled || h <= 0 {
		return ""
	}
	if h == 1 {
		line := p.compactLine(st)
		if len(pids) > 0 {
			line += st.dim.Render(" │ ") + p.procLine(pids, st)
		}
		return fit(line, w, 1)
	}
	sparkW := 12
	if w < 100 {
		sparkW = 6
	}
	return fit(p.machineLine(st, sparkW)+"\n"+p.procLine(pids, st), w, 2)
}

// compactLine: "cpu ▃ 37%  mem ▃ 3.0/8.0 GiB  gpu –".
func (p systemPanel) compactLine(st styles) string {
	s := p.sample
	if s.at.IsZero() {
		return st.dim.Render("reading system use…")
	}
	cpuText := "-"
	if s.cpuOK {
		cpuText = fmt.Sprintf("%.0f%%", s.cpuPercent)
	}
	line := st.label.Render("cpu ") + spark(p.cpuHist, 4, st) + " " + cpuText
	if s.memOK {
		line += "  " + st.label.Render("mem ") + spark(p.memHist, 4, st) + " " +
			strings.TrimSuffix(bytesText(s.memUsed), " GiB") + "/" + bytesText(s.memTotal)
	}
	g := gpuText(s.gpu)
	if !s.gpu.available {
		g = "–"
	}
	return line + "  " + st.label.Render("gpu ") + g
}

func bytesText(b uint64) string {
	const gib, mib = 1 << 30, 1 << 20
	if b >= gib {
		return fmt.Sprintf("%.1f GiB", float64(b)/gib)
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/mib)
}

func mibText(m float64) string {
	if m < 0 {
		return "n/a"
	}
	if m >= 1024 {
		return fmt.Sprintf("%.1f GiB", m/1024)
	}
	return fmt.Sprintf("%.0f MiB", m)
}

// systemEvery is how often the system panel samples: often enough to see
// a run start, rarely enough to cost nothing next to training.
var systemEvery = 2 * time.Second

func systemTick() tea.Cmd {
	return tea.Tick(systemEvery, func(time.Time) tea.Msg { return systemTickMsg{} })
}
