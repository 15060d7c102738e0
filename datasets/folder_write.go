package datasets

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
)

// WriteFolder writes a set of images as an image folder LoadFolder reads:
// dir/<class>/<index>.png, one PNG per example (8 bits per value, as the
// set's values in [0,1] came from). Class folders are named "<number>-<class
// name>" so that, sorted, they keep the set's class order (a model trained
// on the set picks the same class indices). Existing files are replaced.
//
// For a folder with a test split, write each split under its own name:
//
//	datasets.WriteFolder(filepath.Join(dir, "train"), train)
//	datasets.WriteFolder(filepath.Join(dir, "test"), test)
func WriteFolder(dir string, s *Set) error {
	if len(s.ExampleShape) != 3 || (s.ExampleShape[2] != 1 && s.ExampleShape[2] != 3) {
		return fmt.Errorf("write folder: examples of shape %v are not images of 1 or 3 channels", s.ExampleShape)
	}
	digits := len(fmt.Sprint(max(s.NumClasses-1, 0)))
	names := make([]string, s.NumClasses)
	for c := range names {
		name := fmt.Sprint(c)
		if c < len(s.ClassNames) {
			name = strings.Map(func(r rune) rune {
				if r == '/' || r == os.PathSeparator {
					return '-'
				}
				return r
			}, s.ClassNames[c])
		}
		names[c] = fmt.Sprintf("%0*d-%s", digits, c, name)
		if err := os.MkdirAll(filepath.Join(dir, names[c]), 0o755); err != nil {
			return fmt.Errorf("write folder: %w", err)
		}
	}
	width := len(fmt.Sprint(max(s.Len()-1, 0)))
	for i := range s.Len() {
		path := filepath.Join(dir, names[s.Labels[i]], fmt.Sprintf("%0*d.png", width, i))
		var b bytes.Buffer
		if err := png.Encode(&b, s.Image(i)); err != nil {
			return fmt.Errorf("write folder: %s: %w", path, err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write folder: %w", err)
		}
	}
	return nil
}
