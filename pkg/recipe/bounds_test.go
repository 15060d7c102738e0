package recipe_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/recipe"
)

// measure parses src and returns the error, the time taken and the bytes
// allocated meanwhile.
func measure(t *testing.T, src []byte) (error, time.Duration, uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := recipe.Parse("h.yaml", src)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return err, took, after.TotalAlloc - before.TotalAlloc
}

// TestHostileRecipesAreBounded: documents that blew up the YAML parser
// (3.9 GB for 100 KB of brackets, 22 s for 1 MiB of keys) fail fast, in
// bounded memory, with one positioned line that does not echo them.
func TestHostileRecipesAreBounded(t *testing.T) {
	const good = "name: d\ndata: {dataset: blobs}\nmodel: {arch: mlp}\nstages: [{train: {epochs: 1}}]\n"
	keys := func(n int) string {
		var b strings.Builder
		b.WriteString(good)
		for i := 0; b.Len() < n; i++ {
			b.WriteString("k" + itoa(i) + ": 1\n")
		}
		return b.String()
	}
	blockNesting := "name: d\nx:\n"
	for i := 1; i < 200; i++ {
		blockNesting += strings.Repeat(" ", i) + "- \n"
	}
	cases := []struct{ name, src, want string }{
		{"the issue's 100 KB of brackets", "name: d\nseed: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "more than 65536 bytes"},
		{"brackets within the size", "name: d\nseed: " + strings.Repeat("[", 30000) + strings.Repeat("]", 30000), "h.yaml:2:39: nested more than 32 levels deep"},
		{"braces", "name: d\nseed: " + strings.Repeat("{a: ", 5000) + "1" + strings.Repeat("}", 5000), "h.yaml:2:"},
		{"block nesting", blockNesting, "nested more than 32 levels deep"},
		{"1 MiB of keys", keys(1 << 20), "more than 65536 bytes"},
		{"30 KiB of keys", keys(30 << 10), `unknown key "k0"`},
		{"a huge scalar", "name: d\nseed: " + strings.Repeat("1", 60000) + "x\n", `seed must be an integer, got the string "111111111111111111111111111111111111111111111111"… (60001 characters)`},
		{"random bytes", "name: d\n\x00\xff\xfe binary", "h.yaml:2:1: control byte 0x00"},
		{"invalid UTF-8", "name: d\nseed: \xff\xfe", "h.yaml:2:7: byte 0xff is not UTF-8"},
		{"many nodes", "name: d\nseed: [" + strings.Repeat("1,", 30000) + "1]\n", "more than 20000 YAML nodes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err, took, alloc := measure(t, []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") || len(err.Error()) > 400 {
				t.Errorf("not one short line: %q", err)
			}
			if took > time.Second || alloc > 100<<20 {
				t.Errorf("took %v and allocated %d MB; want under a second and 100 MB", took, alloc>>20)
			}
		})
	}
	// Brackets inside quotes and comments are text, not nesting.
	deepText := good + "description: '" + strings.Repeat("[", 100) + "' # " + strings.Repeat("{", 100) + "\n"
	if _, err := recipe.Parse("h.yaml", []byte(deepText)); err != nil {
		t.Errorf("brackets in a quoted string or a comment: %v", err)
	}
}

// TestParseFileReadsOnlyTheBound: a huge file is refused after reading
// just past the bound, not loaded whole.
func TestParseFileReadsOnlyTheBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // 1 GiB, sparse
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = recipe.ParseFile(path)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "big.yaml: the recipe is more than 65536 bytes") {
		t.Fatalf("got %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 10<<20 {
		t.Errorf("allocated %d MB reading a 1 GiB recipe", alloc>>20)
	}
}

// TestSizesCheckedBeforeAnyWork: a batch or validation split the dataset
// cannot give is a positioned error at parse time, not a failed run.
func TestSizesCheckedBeforeAnyWork(t *testing.T) {
	const rest = "model: {arch: mlp}\nstages: [{train: {epochs: 1}}]\n"
	cases := map[string]string{
		"data: {dataset: spirals, batch_size: 100000}\n":                  "s.yaml:2:38: data.batch_size 100000 is larger than the 1800 training examples of spirals left after 200 for validation",
		"data: {dataset: spirals, train_size: 300, validation: 300}\n":    "s.yaml:2:55: data.validation 300 holds out all 300 training examples of spirals; it must be less",
		"data: {dataset: mnist, validation: 60000}\n":                     "s.yaml:2:36: data.validation 60000 holds out all 60000 training examples of mnist",
		"data: {dataset: blobs, train_size: 100, batch_size: 100}\n":      "data.batch_size 100 is larger than the 90 training examples of blobs left after 10 for validation",
		"data:\n  dataset: mnist\n  batch_size: 60000\n  validation: 1\n": "s.yaml:4:15: data.batch_size 60000 is larger than the 59999 training examples",
	}
	for data, want := range cases {
		_, err := recipe.Parse("s.yaml", []byte("name: s\n"+data+rest))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", strings.TrimSpace(data), err, want)
		}
	}
	if _, err := recipe.Parse("s.yaml", []byte("name: s\ndata: {dataset: blobs, train_size: 100, batch_size: 90}\n"+rest)); err != nil {
		t.Errorf("a batch of exactly what is left: %v", err)
	}
}

// TestQuotesAndBlockScalarsDoNotHideNesting: an apostrophe in plain text
// or a quote in a block scalar opens no string, so nesting after it is
// still counted; and brackets inside a block scalar are text, not nesting.
func TestQuotesAndBlockScalarsDoNotHideNesting(t *testing.T) {
	deep := strings.Repeat("[", 30000) + strings.Repeat("]", 30000)
	for _, src := range []string{
		"name: d\ndescription: it's\nseed: " + deep + "\n",
		"name: d\ndescription: |\n  a 5\" screen\nseed: " + deep + "\n",
	} {
		err, took, alloc := measure(t, []byte(src))
		if err == nil || !strings.Contains(err.Error(), "nested more than 32 levels deep") || took > time.Second || alloc > 100<<20 {
			t.Errorf("%.30q…: %v in %v, %d MB", src, err, took, alloc>>20)
		}
	}
	var block strings.Builder
	block.WriteString("name: d\ndata: {dataset: blobs}\nmodel: {arch: mlp}\nstages: [{train: {epochs: 1}}]\ndescription: |\n")
	for i := 0; i < 40; i++ {
		block.WriteString("  learning rates in [0.1, 1) and {a, b\n")
	}
	if _, err := recipe.Parse("b.yaml", []byte(block.String())); err != nil {
		t.Errorf("unbalanced brackets in a block scalar: %v", err)
	}
}
