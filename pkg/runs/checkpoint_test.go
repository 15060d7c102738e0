package runs

import (
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
// panic, and an accepted one never declares more than its bound.
func FuzzCheckCheckpointHeader(f *testing.F) {
	f.Add([]byte(validHeader), int64(60))
	f.Add([]byte(`{}`), int64(0))
	f.Add([]byte(`{"Variables": [{"Dimensions": [1e30]}]}`), int64(10))
	f.Fuzz(func(t *testing.T, data []byte, binSize int64) {
		_ = CheckCheckpointHeader(data, binSize)
	})
}
