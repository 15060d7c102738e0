package tui

import (
	"errors"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// The dashboard learns about runs only by reading the store: a tick every
// Options.Refresh starts one poll (never two at once), which comes back as
// a pollMsg that Update folds into the model. Reading happens in the
// command's goroutine; only Update changes the model.

type tickMsg time.Time

func tickEvery(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// pollRequest is what a poll needs to know, copied out of the model.
type pollRequest struct {
	dir      string
	store    *runs.Store // nil until the store exists
	version  runs.Version
	running  bool            // some run was running at the last poll: reload to see it end or die
	settled  map[string]bool // runs whose progress is final (not running and read once since)
	watch    map[string]runs.Cursor
	pointCap int
	// reports are runs whose trade-off report to read.
	reports []string
}

// seriesDelta is what a poll read of one run's series: the points after
// cursor from, or why they could not be read.
type seriesDelta struct {
	from, next runs.Cursor
	points     []runs.Point
	err        error
}

type pollMsg struct {
	store    *runs.Store // newly opened store, if any
	version  runs.Version
	runs     []*runs.Run // nil: unchanged since the last poll
	progress map[string]*runs.Progress
	series   map[string]seriesDelta
	reports  map[string]*reportRead
	// err: the store exists but cannot be opened or read (corrupt, not a
	// database, unreadable). Never shown as an empty store.
	err error
}

// maxPointsPerPoll bounds one read of a series, so opening a long run does
// not stall the dashboard: the rest arrives on the next polls.
const maxPointsPerPoll = 200_000

func poll(req pollRequest) tea.Cmd {
	return func() tea.Msg {
		msg := pollMsg{}
		store := req.store
		if store == nil {
			s, err := runs.OpenExisting(req.dir)
			if errors.Is(err, runs.ErrNoStore) {
				return msg // no store yet: the first run creates it
			}
			if err != nil {
				msg.err = err
				return msg
			}
			store, msg.store = s, s
		}
		v, err := store.Version()
		if err != nil {
			msg.err = err
			return msg
		}
		msg.version = v
		if msg.store != nil || v != req.version || req.running {
			list, err := store.List()
			if err != nil {
				msg.err = err
				return msg
			}
			if list == nil {
				list = []*runs.Run{}
			}
			msg.runs = list
			var ids []string
			for _, r := range list {
				if r.Status == runs.Running || !req.settled[r.ID] {
					ids = append(ids, r.ID)
				}
			}
			if len(ids) > 0 {
				if msg.progress, err = store.Progress(ids...); err != nil {
					msg.err = err
					return msg
				}
			}
		}
		msg.series = readSeries(store, req.watch, req.pointCap)
		if len(req.reports) > 0 {
			msg.reports = map[string]*reportRead{}
			for _, id := range req.reports {
				t, err := report.ReadTradeoff(store.RunDir(id))
				msg.reports[id] = &reportRead{t, err}
			}
		}
		return msg
	}
}

func readSeries(store *runs.Store, watch map[string]runs.Cursor, limit int) map[string]seriesDelta {
	out := map[string]seriesDelta{}
	for id, from := range watch {
		pts, next, err := store.PointsSince(id, from, limit)
		if err != nil {
			out[id] = seriesDelta{from: from, next: from, err: err}
			continue
		}
		// Also when nothing is new: a run without points then shows
		// that it has none, not that its points are being read.
		out[id] = seriesDelta{from: from, next: next, points: pts}
	}
	return out
}

// seriesMsg brings the series of runs just opened, without waiting for the
// next tick.
type seriesMsg struct{ series map[string]seriesDelta }

func loadSeries(store *runs.Store, watch map[string]runs.Cursor) tea.Cmd {
	if store == nil || len(watch) == 0 {
		return nil
	}
	return func() tea.Msg { return seriesMsg{readSeries(store, watch, maxPointsPerPoll)} }
}
