package tui

import (
	"math"
	"sort"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// seriesSet is the dashboard's copy of one run's metric series. It grows
// as polls bring the points written since the last one (runs.PointsSince),
// so a long run is read from the store once, not once a second. When the
// run's points were dropped (a resumed run records steps again), the read
// starts over and the set forgets what it held.
type seriesSet struct {
	next   runs.Cursor // where to read on
	byName map[string][]runs.Point
	names  []string // sorted
}

func newSeriesSet() *seriesSet { return &seriesSet{byName: map[string][]runs.Point{}} }

// add merges points read after cursor from; a delta read from another
// cursor (two polls racing for the same run) is dropped, so no point is
// doubled. A delta that starts over (the run was truncated) replaces
// everything held.
func (s *seriesSet) add(from, next runs.Cursor, points []runs.Point) bool {
	if from != s.next {
		return false
	}
	s.next = next
	reset := next.Truncations != from.Truncations
	if reset {
		s.byName, s.names = map[string][]runs.Point{}, nil
	}
	for _, p := range points {
		if _, ok := s.byName[p.Name]; !ok {
			s.names = append(s.names, p.Name)
		}
		s.byName[p.Name] = append(s.byName[p.Name], p)
	}
	sort.Strings(s.names)
	return reset || len(points) > 0
}

func (s *seriesSet) has(name string) bool { return len(s.byName[name]) > 0 }

// latest is metric name's value for run r as of now: its final metric
// once the run ended, else the newest point read (set may be nil); false
// when it has neither.
func latest(r *runs.Run, set *seriesSet, name string) (float64, bool) {
	if v, ok := r.Final[name]; ok {
		return v, true
	}
	if set != nil {
		if pts := set.byName[name]; len(pts) > 0 {
			return pts[len(pts)-1].Value, true
		}
	}
	return 0, false
}

// xy is one chart point: x is the global training step.
type xy struct{ x, y float64 }

// curve turns a series into chart points, in step order.
func curve(points []runs.Point) []xy {
	out := make([]xy, 0, len(points))
	for _, p := range points {
		out = append(out, xy{float64(p.Step), p.Value})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].x < out[j].x })
	return out
}

// smooth applies TensorBoard's smoothing: an exponential moving average with
// the start-up bias removed, so the first points are not dragged to zero.
// weight 0 returns the points unchanged; non-finite values pass through
// without poisoning the average.
func smooth(points []xy, weight float64) []xy {
	if weight <= 0 || len(points) < 2 {
		return points
	}
	out := make([]xy, len(points))
	var avg, norm float64
	for i, p := range points {
		if math.IsNaN(p.y) || math.IsInf(p.y, 0) {
			out[i] = p
			continue
		}
		avg = weight*avg + (1-weight)*p.y
		norm = weight*norm + (1 - weight)
		out[i] = xy{p.x, avg / norm}
	}
	return out
}

// logScale maps y to log10(y), dropping points that have no logarithm.
func logScale(points []xy) []xy {
	out := make([]xy, 0, len(points))
	for _, p := range points {
		if p.y > 0 && !math.IsInf(p.y, 0) {
			out = append(out, xy{p.x, math.Log10(p.y)})
		}
	}
	return out
}

// finite drops NaN and infinite values, which a chart cannot place.
func finite(points []xy) []xy {
	out := points[:0:0]
	for _, p := range points {
		if !math.IsNaN(p.y) && !math.IsInf(p.y, 0) {
			out = append(out, p)
		}
	}
	return out
}

// smoothingWeights are what the smoothing key cycles through.
var smoothingWeights = []float64{0, 0.6, 0.9}

func nextSmoothing(w float64) float64 {
	for i, v := range smoothingWeights {
		if v == w {
			return smoothingWeights[(i+1)%len(smoothingWeights)]
		}
	}
	return 0
}
