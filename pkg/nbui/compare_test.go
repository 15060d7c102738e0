package nbui

import (
	"bytes"
	"image/png"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/runs"
	"gonum.org/v1/plot/plotutil"
)

// TestCompareDrawsBarsOfFinalMetrics: comparing variants on a metric each
// run recorded once (test_accuracy, only as a final metric here) shows a
// bar per run, as `lathe compare` draws it (before: an error and no plot).
func TestCompareDrawsBarsOfFinalMetrics(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(runs.EnvDir, dir)
	store, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	for i, acc := range []float64{0.91, 0.97} {
		at := start.Add(time.Duration(i) * time.Second)
		r := &runs.Run{ID: runs.NewID(at), Name: []string{"acc/sgd", "acc/adam"}[i], Started: at,
			Params: map[string]string{runs.GroupParam: "g"}}
		if err := store.Create(r); err != nil {
			t.Fatal(err)
		}
		if err := store.Finish(r.ID, runs.Finished, "", map[string]float64{"test_accuracy": acc}); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	out := record(t)
	if err := Compare("test_accuracy", "acc"); err != nil {
		t.Fatal(err)
	}
	var pngs [][]byte
	for _, o := range out.Shown {
		if o.PNG != nil {
			pngs = append(pngs, o.PNG)
		}
	}
	if len(pngs) != 1 {
		t.Fatalf("Compare showed %d images, want 1", len(pngs))
	}
	img, err := png.Decode(bytes.NewReader(pngs[0]))
	if err != nil {
		t.Fatal(err)
	}
	// Two runs, two colours, each filling a bar.
	for i := range 2 {
		c := plotutil.Color(i)
		r0, g0, b0, _ := c.RGBA()
		n := 0
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				if r, g, b, _ := img.At(x, y).RGBA(); r == r0 && g == g0 && b == b0 {
					n++
				}
			}
		}
		if n < 3000 {
			t.Errorf("colour %d: %d pixels, want a bar's worth (≥3000)", i, n)
		}
	}
}
