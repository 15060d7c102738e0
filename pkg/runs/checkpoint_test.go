package runs

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

const validHeader = `{"Params": [], "Variables": [
 {"ParameterName": "var:/mlp/fc1/weights", "Dimensions": [4, 3], "DType": "Float32", "Pos": 0, "Length": 48},
 {"ParameterName": "var:/mlp/fc1/biases", "Dimensions": [3], "DType": "Float32", "Pos": 48, "Length": 12}]}`

func TestCheckCheckpointHeader(t *testing.T) {
	if err := CheckCheckpointHeader([]byte(validHeader), 60); err != nil {
		t.Fatalf("valid header: %v", err)
	}
	cases := map[string]string{
		"not json":        `{"Variables": [`,
		"huge dimensions": strings.Replace(validHeader, `[4, 3]`, `[4000000000, 3000000000]`, 1),
		"negative":        strings.Replace(validHeader, `[4, 3]`, `[-4, 3]`, 1),
		"length mismatch": strings.Replace(validHeader, `"Length": 48`, `"Length": 40`, 1),
		"gap":             strings.Replace(validHeader, `"Pos": 48`, `"Pos": 50`, 1),
		"unknown dtype":   strings.Replace(validHeader, `"Float32", "Pos": 0`, `"Float99", "Pos": 0`, 1),
	}
	for name, header := range cases {
		if err := CheckCheckpointHeader([]byte(header), 60); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	big := strings.Replace(strings.Replace(validHeader, `[4, 3]`, `[4000, 3000]`, 1), `"Length": 48`, `"Length": 48000000`, 1)
	big = strings.Replace(big, `"Pos": 48`, `"Pos": 48000000`, 1)
	if err := CheckCheckpointHeader([]byte(big), 60); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("48 MB declared in a 60-byte file: %v", err)
	}
}

// FuzzCheckCheckpointHeader: any header is accepted or refused, never a
// panic, and an accepted one is checked here again, independently: it
// parses, every dtype is one GoMLX can size, every length is its shape's
// bytes, the variables sit back to back from byte 0, and the total is at
// most 1<<36 bytes and at most 64×binSize+1 MiB.
func FuzzCheckCheckpointHeader(f *testing.F) {
	f.Add([]byte(validHeader), int64(60))
	f.Add([]byte(`{}`), int64(0))
	f.Add([]byte(`{"Variables": [{"Dimensions": [1e30]}]}`), int64(10))
	f.Add([]byte(`{"Variables": [{"DType": "float64", "Dimensions": [2], "Pos": 0, "Length": 16}]}`), int64(-1))
	f.Add([]byte(`{"Variables": [{"DType": "Complex128", "Dimensions": [65537], "Pos": 0, "Length": 1048592}]}`), int64(0))
	f.Add([]byte(`{"Variables": [{"DType": "Int8", "Dimensions": [1048576], "Pos": 0, "Length": 1048576}]}`), int64(-3458764513820540928))
	f.Add([]byte(`{"Variables": [{"DType": "Uint8", "Dimensions": [68719476736], "Pos": 0, "Length": 68719476736}]}`), int64(1)<<40)
	f.Fuzz(func(t *testing.T, data []byte, binSize int64) {
		if CheckCheckpointHeader(data, binSize) != nil {
			return
		}
		var h struct {
			Variables []struct {
				ParameterName string
				Dimensions    []int64
				DType         string
				Pos, Length   int64
			}
		}
		if err := json.Unmarshal(data, &h); err != nil {
			t.Fatalf("accepted a header that does not parse: %v", err)
		}
		if binSize < 0 {
			t.Fatalf("accepted a negative data file size %d", binSize)
		}
		bound := new(big.Int).Add(new(big.Int).Mul(big.NewInt(64), big.NewInt(binSize)), big.NewInt(1<<20))
		if cap := big.NewInt(1 << 36); bound.Cmp(cap) > 0 {
			bound = cap
		}
		total := new(big.Int)
		for i, v := range h.Variables {
			size, ok := fuzzDTypeSizes[strings.ToLower(v.DType)]
			if !ok {
				t.Fatalf("variable %d: accepted dtype %q", i, v.DType)
			}
			n := big.NewInt(size)
			for _, d := range v.Dimensions {
				if d < 0 {
					t.Fatalf("variable %d: accepted dimension %d", i, d)
				}
				n.Mul(n, big.NewInt(d))
			}
			if n.Cmp(big.NewInt(v.Length)) != 0 {
				t.Fatalf("variable %d: accepted length %d for %v × %s (%s bytes)", i, v.Length, v.Dimensions, v.DType, n)
			}
			if total.Cmp(big.NewInt(v.Pos)) != 0 {
				t.Fatalf("variable %d: accepted at byte %d, after %s bytes", i, v.Pos, total)
			}
			total.Add(total, n)
		}
		if total.Cmp(bound) > 0 {
			t.Fatalf("accepted %s bytes declared for a %d-byte data file (bound %s)", total, binSize, bound)
		}
	})
}

// fuzzDTypeSizes are GoMLX's sizes, written out here independently of the
// table the checker uses.
var fuzzDTypeSizes = map[string]int64{
	"bool": 1, "int8": 1, "uint8": 1,
	"int16": 2, "uint16": 2, "float16": 2, "bfloat16": 2,
	"int32": 4, "uint32": 4, "float32": 4,
	"int64": 8, "uint64": 8, "float64": 8, "complex64": 8,
	"complex128": 16,
}
