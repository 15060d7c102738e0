package recipe

// FileWriter is implemented by settings of kinds whose Effects include
// Files: the names, in the run's folder, of every file the stage writes.
// A recipe is checked before it runs so that no two stages write one name
// (a later export would silently replace an earlier one's file, and a
// report could compare a file with itself); the runner records each file
// in the run store, with its size and checksum, once the stage wrote it.
type FileWriter interface {
	Files() []string
}

// maxFileName is the longest file name Linux, macOS and Windows file
// systems take (NAME_MAX), in bytes.
const maxFileName = 255

// checkFiles refuses a recipe in which two stages would write the same
// file, at the later stage, naming the earlier, or a file whose name is
// longer than file systems take (it would fail after training).
func (d *Decoder) checkFiles(stages []Stage, what string) error {
	writer := map[string]int{}
	for i, st := range stages {
		w, ok := st.Settings.(FileWriter)
		if !ok {
			continue
		}
		for _, name := range w.Files() {
			if len(name) > maxFileName {
				return d.Errorf(st.node, "%sstage %d (%s) writes %.40s…, a file name of %d bytes: file systems take at most %d",
					what, i+1, st.Kind, name, len(name), maxFileName)
			}
			if j, dup := writer[name]; dup {
				if j == i {
					return d.Errorf(st.node, "%sstage %d (%s) writes %s twice", what, i+1, st.Kind, name)
				}
				return d.Errorf(st.node, "%sstage %d (%s) writes %s, which stage %d (%s) writes too: give one of them another name",
					what, i+1, st.Kind, name, j+1, stages[j].Kind)
			}
			writer[name] = i
		}
	}
	return nil
}
