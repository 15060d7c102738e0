// Package imagetest writes small image folders for tests: two classes of
// 8×8 gray PNGs, a horizontal or a vertical bar at a random place on
// noise, which a small network tells apart.
package imagetest

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Classes are the folder names Bars writes, in sorted order.
var Classes = []string{"horizontal", "vertical"}

// Bars writes perClass images of each class into dir/<class>/NNN.png,
// drawn with seed.
func Bars(t testing.TB, dir string, perClass int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	for _, class := range Classes {
		if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perClass {
			img := image.NewGray(image.Rect(0, 0, 8, 8))
			at := r.IntN(8)
			for y := 0; y < 8; y++ {
				for x := 0; x < 8; x++ {
					v := uint8(r.IntN(60))
					if (class == "horizontal" && y == at) || (class == "vertical" && x == at) {
						v = 200 + uint8(r.IntN(55))
					}
					img.SetGray(x, y, color.Gray{Y: v})
				}
			}
			f, err := os.Create(filepath.Join(dir, class, fmt.Sprintf("%03d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
