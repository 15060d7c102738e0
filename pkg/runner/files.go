package runner

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/lathe-ml/lathe/pkg/recipe"
)

// declaredFiles are the files a stage's kind says it writes into the
// run's folder (recipe.FileWriter); the plan records them before the run
// starts, and recipe parsing has refused two stages writing one name.
func declaredFiles(st recipe.Stage) []string {
	if w, ok := st.Settings.(recipe.FileWriter); ok {
		return w.Files()
	}
	return nil
}

// recordFiles records in the store, with size and checksum, every file
// stage i declared, which it must have written. A file in the run's
// folder written since the stage started that no stage of the recipe
// declares is an internal error: the manifest must list what a run
// writes, or two stages could write one name unseen.
func (s *Session) recordFiles(i int, st recipe.Stage, since time.Time) error {
	if s.store == nil {
		return nil
	}
	dir := s.store.RunDir(s.RunID)
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var declared []string
	for _, other := range s.Recipe.Stages {
		declared = append(declared, declaredFiles(other)...)
	}
	own := declaredFiles(st)
	for _, name := range own {
		if !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == name }) {
			return fmt.Errorf("internal error: stage %d (%s) declares %s but did not write it", i+1, st.Kind, name)
		}
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		if slices.Contains(own, name) {
			if err := s.store.RecordFile(s.RunID, i, name); err != nil {
				return err
			}
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if !slices.Contains(declared, name) && !info.ModTime().Before(since) {
			return fmt.Errorf("internal error: stage %d (%s) wrote %s into the run's folder, which no stage of the recipe declares (recipe.FileWriter)", i+1, st.Kind, name)
		}
	}
	return nil
}
