package runs

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A run's checkpoint folder holds GoMLX checkpoints: pairs of files
// checkpoint-n<count>-<time>-step-<step>.json (the variables' shapes, the
// run's position) and .bin (their bytes), which GoMLX's checkpoints
// package loads, newest name first. Lathe writes them itself (see
// WriteCheckpoint) so that a crash or a full disk never leaves a pair
// GoMLX would take for the newest checkpoint, and before a run resumes it
// sets aside damaged pairs (SetAsideDamaged) so GoMLX loads the newest
// intact one.

// checkpointPattern matches a checkpoint's base name, capturing its count.
var checkpointPattern = regexp.MustCompile(`^checkpoint-n(\d+)-.*$`)

const (
	// damagedPrefix marks a checkpoint set aside: GoMLX lists only names
	// that start with "checkpoint-", so it no longer sees it.
	damagedPrefix = "damaged-"
	// tempPrefix marks files of a checkpoint being written.
	tempPrefix = ".writing-"
	// binMagic starts GoMLX's compressed data files, followed by a length
	// byte and the compression's name.
	binMagic = "gomlx_checkpoints"
)

// Checkpoints lists the base paths (without .json/.bin) of the checkpoints
// in dir, oldest first, as GoMLX orders them. A missing dir has none.
func Checkpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoints in %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && strings.HasPrefix(name, "checkpoint-") && strings.HasSuffix(name, ".json") {
			names = append(names, strings.TrimSuffix(name, ".json"))
		}
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = filepath.Join(dir, n)
	}
	return names, nil
}

// NextCheckpointCount is the count the next checkpoint in dir takes: one
// past the largest there, so it sorts newest.
func NextCheckpointCount(dir string) (int, error) {
	list, err := Checkpoints(dir)
	if err != nil {
		return 0, err
	}
	next := 0
	for _, base := range list {
		if m := checkpointPattern.FindStringSubmatch(filepath.Base(base)); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	return next, nil
}

// ErrDamaged marks what VerifyCheckpoint found wrong in a checkpoint's
// content (errors.Is); any other error is one of reading it (a permission,
// a failing disk), which says nothing about the checkpoint.
var ErrDamaged = errors.New("damaged")

// damagef wraps a content problem as ErrDamaged.
func damagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, args...))
}

// VerifyCheckpoint checks one checkpoint (base path without suffix) the
// way loading it would, without GoMLX: the header is valid (see
// CheckCheckpointHeader; any compression ratio: decompressing is the real
// check) and the data file holds exactly the bytes it declares, its
// compression intact to the last checksum. Content problems wrap
// ErrDamaged.
func VerifyCheckpoint(base string) error {
	header, err := os.ReadFile(base + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return damagef("its header file is missing")
	} else if err != nil {
		return err
	}
	f, err := os.Open(base + ".bin")
	if errors.Is(err, os.ErrNotExist) {
		return damagef("its data file is missing")
	} else if err != nil {
		return err
	}
	defer f.Close()
	want, err := checkHeader(header, maxCheckpointBytes)
	if err != nil {
		return damagef("%v", err)
	}
	r := bufio.NewReader(f)
	var data io.Reader = r
	if magic, _ := r.Peek(len(binMagic)); string(magic) == binMagic {
		if _, err := r.Discard(len(binMagic)); err != nil {
			return err
		}
		n, err := r.ReadByte()
		if err != nil {
			return readProblem("data file header", err)
		}
		kind := make([]byte, n)
		if _, err := io.ReadFull(r, kind); err != nil {
			return readProblem("data file header", err)
		}
		if string(kind) != "gzip" {
			return damagef("data file compressed with %q, which GoMLX cannot read", kind)
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			return readProblem("data file", err)
		}
		defer zr.Close()
		data = zr
	}
	// Read one byte more than declared: a longer file is damaged too.
	got, err := io.Copy(io.Discard, io.LimitReader(data, want+1))
	if err != nil {
		return readProblem("data file", err)
	}
	if got != want {
		return damagef("data file holds %d bytes of variables, its header declares %d", got, want)
	}
	return nil
}

// readProblem classifies an error met reading a data file: truncation and
// corrupt compression are damage; anything else is the disk's.
func readProblem(what string, err error) error {
	var corrupt flate.CorruptInputError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt) {
		return damagef("%s: %v", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Damaged is a checkpoint set aside, and why.
type Damaged struct {
	Base    string // where it was (base path without suffix)
	MovedTo string // where its files are now (base path, same suffixes)
	Reason  error
}

// SetAsideDamaged verifies the checkpoints in dir from the newest and
// renames each damaged one (a half-written pair, a truncated or corrupt
// file) to damaged-<name>, keeping its bytes but out of GoMLX's sight,
// until it reaches an intact one: that is the one GoMLX will load. It
// returns what it set aside and the intact checkpoint ("" if none). Files
// left by a checkpoint write that never finished are removed.
func SetAsideDamaged(dir string) (damaged []Damaged, intact string, err error) {
	if err := removeUnfinished(dir); err != nil {
		return nil, "", err
	}
	list, err := Checkpoints(dir)
	if err != nil {
		return nil, "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		base := list[i]
		verr := VerifyCheckpoint(base)
		if verr != nil && !errors.Is(verr, ErrDamaged) {
			// Not readable now is not damaged: set nothing aside.
			return damaged, "", fmt.Errorf("checkpoint %s: %w", base, verr)
		}
		if verr == nil {
			if len(damaged) > 0 {
				return damaged, base, syncDir(dir)
			}
			return nil, base, nil
		}
		moved := filepath.Join(dir, damagedPrefix+filepath.Base(base))
		for _, suffix := range []string{".json", ".bin"} {
			if err := os.Rename(base+suffix, moved+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return damaged, "", fmt.Errorf("setting aside damaged checkpoint %s: %w", base+suffix, err)
			}
		}
		damaged = append(damaged, Damaged{Base: base, MovedTo: moved, Reason: verr})
	}
	if len(damaged) == 0 {
		return nil, "", nil
	}
	return damaged, "", syncDir(dir)
}

// removeUnfinished removes the temporary files of checkpoint writes that
// never finished (the process died or the disk filled mid-write), and a
// data file whose header never followed it (a crash between the renames):
// neither can ever load.
func removeUnfinished(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	for _, e := range entries {
		name := e.Name()
		orphan := strings.HasPrefix(name, "checkpoint-") && strings.HasSuffix(name, ".bin") && !have[strings.TrimSuffix(name, ".bin")+".json"]
		if strings.HasPrefix(name, tempPrefix) || orphan {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// HasDamaged reports whether dir holds checkpoints set aside as damaged.
func HasDamaged(dir string) (bool, error) {
	matches, err := filepath.Glob(filepath.Join(dir, damagedPrefix+"checkpoint-*.json"))
	return len(matches) > 0, err
}

// CheckpointWriter writes one checkpoint atomically: each file goes to a
// temporary name, is synced and renamed into place, the data file first,
// and the directory is synced after each rename. A checkpoint appears
// (its .json, the name GoMLX lists) only once both files are whole on
// disk; a failure removes what it wrote.
type CheckpointWriter struct {
	dir, base string
	temps     []string
}

// NewCheckpointWriter starts checkpoint base (a name such as
// checkpoint-n0000003-20261130-120000-step-00000500) in dir.
func NewCheckpointWriter(dir, base string) (*CheckpointWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := removeUnfinished(dir); err != nil {
		return nil, err
	}
	return &CheckpointWriter{dir: dir, base: base}, nil
}

// Write writes the file with suffix (".bin" or ".json") under its
// temporary name through fill, and syncs it.
func (w *CheckpointWriter) Write(suffix string, fill func(io.Writer) error) (err error) {
	tmp := filepath.Join(w.dir, tempPrefix+w.base+suffix)
	w.temps = append(w.temps, tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Sync()
}

// Commit renames the files into place, .bin before .json, syncing the
// directory after each.
func (w *CheckpointWriter) Commit() error {
	for _, suffix := range []string{".bin", ".json"} {
		tmp := filepath.Join(w.dir, tempPrefix+w.base+suffix)
		if err := os.Rename(tmp, filepath.Join(w.dir, w.base+suffix)); err != nil {
			return err
		}
		if err := syncDir(w.dir); err != nil {
			return err
		}
	}
	w.temps = nil
	return nil
}

// Abort removes the temporary files of a write that failed.
func (w *CheckpointWriter) Abort() {
	for _, tmp := range w.temps {
		_ = os.Remove(tmp)
	}
	w.temps = nil
}

// PruneCheckpoints removes all but the newest keep checkpoints in dir,
// each .json before its .bin, so a crash mid-way never leaves a header
// without its data.
func PruneCheckpoints(dir string, keep int) error {
	list, err := Checkpoints(dir)
	if err != nil || len(list) <= keep {
		return err
	}
	for _, base := range list[:len(list)-keep] {
		for _, suffix := range []string{".json", ".bin"} {
			if err := os.Remove(base + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing old checkpoint: %w", err)
			}
		}
	}
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
