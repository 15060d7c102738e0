package runs

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gomlxBin is a data file as GoMLX writes it: magic, the compression's
// name, then the gzipped bytes.
func gomlxBin(t testing.TB, raw []byte) []byte {
	var buf bytes.Buffer
	buf.WriteString("gomlx_checkpoints\x04gzip")
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeCheckpoint(t testing.TB, dir, base string, header, bin []byte) string {
	path := filepath.Join(dir, base)
	if err := os.WriteFile(path+".json", header, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".bin", bin, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSetAsideDamaged: damaged checkpoints, newest first, are renamed out
// of GoMLX's sight with their bytes kept, up to the newest intact one;
// files of an unfinished write are removed; older ones are left alone.
func TestSetAsideDamaged(t *testing.T) {
	dir := t.TempDir()
	good := gomlxBin(t, make([]byte, 60))
	old := writeCheckpoint(t, dir, "checkpoint-n0000001-x-step-00000010", []byte(validHeader), good)
	intact := writeCheckpoint(t, dir, "checkpoint-n0000002-x-step-00000020", []byte(validHeader), good)
	short := writeCheckpoint(t, dir, "checkpoint-n0000003-x-step-00000030", []byte(validHeader), gomlxBin(t, make([]byte, 59)))
	empty := writeCheckpoint(t, dir, "checkpoint-n0000004-x-step-00000040", nil, good)
	os.WriteFile(filepath.Join(dir, ".writing-checkpoint-n0000005-x-step-00000050.bin"), good[:10], 0o644)

	damaged, got, err := SetAsideDamaged(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != intact || len(damaged) != 2 || damaged[0].Base != empty || damaged[1].Base != short {
		t.Fatalf("intact %s, damaged %+v", got, damaged)
	}
	if !strings.Contains(damaged[1].Reason.Error(), "holds 59 bytes of variables, its header declares 60") {
		t.Errorf("reason: %v", damaged[1].Reason)
	}
	list, _ := Checkpoints(dir)
	if len(list) != 2 || list[0] != old || list[1] != intact {
		t.Errorf("left %v", list)
	}
	kept, _ := os.ReadFile(filepath.Join(dir, "damaged-checkpoint-n0000003-x-step-00000030.bin"))
	if !bytes.Equal(kept, gomlxBin(t, make([]byte, 59))) {
		t.Error("a damaged checkpoint's bytes were not kept")
	}
	if _, err := os.Stat(filepath.Join(dir, ".writing-checkpoint-n0000005-x-step-00000050.bin")); err == nil {
		t.Error("an unfinished write was left")
	}
	if n, _ := NextCheckpointCount(dir); n != 3 {
		t.Errorf("next count %d, want 3 (after the newest listed)", n)
	}
}

// FuzzVerifyCheckpoint: any header and data file are accepted or refused,
// never a panic, and an accepted pair is checked again independently: the
// data, decompressed if it carries GoMLX's magic, is exactly as long as the
// variables the header declares.
func FuzzVerifyCheckpoint(f *testing.F) {
	f.Add([]byte(validHeader), gomlxBin(f, make([]byte, 60)))
	f.Add([]byte(validHeader), make([]byte, 60))
	f.Add([]byte(validHeader), gomlxBin(f, make([]byte, 61)))
	f.Add([]byte(`{"Variables": []}`), []byte("gomlx_checkpoints\xffgzip"))
	f.Fuzz(func(t *testing.T, header, bin []byte) {
		dir := t.TempDir()
		base := writeCheckpoint(t, dir, "checkpoint-n0000001-x", header, bin)
		if VerifyCheckpoint(base) != nil {
			return
		}
		var h struct{ Variables []struct{ Length int64 } }
		if err := json.Unmarshal(header, &h); err != nil {
			t.Fatalf("accepted a header that does not parse: %v", err)
		}
		var want int64
		for _, v := range h.Variables {
			want += v.Length
		}
		data := bin
		if rest, ok := bytes.CutPrefix(bin, []byte("gomlx_checkpoints\x04gzip")); ok {
			zr, err := gzip.NewReader(bytes.NewReader(rest))
			if err != nil {
				t.Fatalf("accepted a data file that does not decompress: %v", err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatalf("accepted a data file that does not decompress: %v", err)
			}
		}
		if int64(len(data)) != want {
			t.Fatalf("accepted %d bytes of data for %d declared", len(data), want)
		}
	})
}

// TestVerifyKnowsDamageFromTrouble: a checkpoint of mostly zeros (gzip
// shrinks it far more than 64×) is intact; a data file that cannot be read
// (here a folder) is trouble, not damage, and nothing is set aside; a data
// file whose header never followed is removed.
func TestVerifyKnowsDamageFromTrouble(t *testing.T) {
	dir := t.TempDir()
	zeros := `{"Variables": [{"ParameterName": "var:/w", "Dimensions": [2500000], "DType": "Float32", "Pos": 0, "Length": 10000000}]}`
	base := writeCheckpoint(t, dir, "checkpoint-n0000001-x-step-00000001", []byte(zeros), gomlxBin(t, make([]byte, 10000000)))
	if st, _ := os.Stat(base + ".bin"); st.Size()*64 > 10000000 {
		t.Fatalf("the data file (%d bytes) is not compressed past 64×", st.Size())
	}
	if err := VerifyCheckpoint(base); err != nil {
		t.Errorf("10 MB of zeros: %v", err)
	}

	trouble := t.TempDir()
	bad := filepath.Join(trouble, "checkpoint-n0000001-x-step-00000001")
	os.WriteFile(bad+".json", []byte(validHeader), 0o644)
	os.Mkdir(bad+".bin", 0o755) // reading it fails: not damage
	damaged, _, err := SetAsideDamaged(trouble)
	if err == nil || errors.Is(err, ErrDamaged) || len(damaged) != 0 {
		t.Errorf("unreadable data file: set aside %v, error %v; want an error and nothing set aside", damaged, err)
	}
	if _, err := os.Stat(bad + ".json"); err != nil {
		t.Errorf("the checkpoint was moved: %v", err)
	}

	orphan := t.TempDir()
	os.WriteFile(filepath.Join(orphan, "checkpoint-n0000002-x-step-00000002.bin"), []byte("data"), 0o644)
	if _, _, err := SetAsideDamaged(orphan); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(orphan); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}
