package runs

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// checkpointHeader is the JSON half of a GoMLX checkpoint: the variables'
// shapes and where their bytes sit in the .bin file beside it.
type checkpointHeader struct {
	Variables []struct {
		ParameterName string
		Dimensions    []int
		DType         dtypes.DType
		Pos, Length   int64
	}
}

// maxCheckpointBytes bounds what a checkpoint may declare, so a corrupt
// header fails here instead of making GoMLX allocate it.
const maxCheckpointBytes = 1 << 36

// CheckCheckpoints validates the headers of the checkpoints in dir before
// GoMLX loads one: GoMLX allocates every variable the JSON declares, so a
// truncated or corrupt header must be caught first. It returns an error
// naming the file for the first problem found, nil for a valid (or empty) dir.
func CheckCheckpoints(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", f, err)
		}
		bin := strings.TrimSuffix(f, ".json") + ".bin"
		st, err := os.Stat(bin)
		if err != nil {
			return fmt.Errorf("checkpoint %s: its data file is missing: %w", f, err)
		}
		if err := CheckCheckpointHeader(data, st.Size()); err != nil {
			return fmt.Errorf("checkpoint %s: %w", f, err)
		}
	}
	return nil
}

// CheckCheckpointHeader validates one checkpoint's JSON header against the
// size of its data file: known dtypes, non-negative dimensions, lengths
// that match the shapes, contiguous positions, and a total the data file
// can hold (allowing for compression).
func CheckCheckpointHeader(data []byte, binSize int64) error {
	var h checkpointHeader
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("header is not valid JSON: %w", err)
	}
	var pos int64
	for _, v := range h.Variables {
		size := dtypeSize(v.DType)
		if size <= 0 {
			return fmt.Errorf("variable %q: unknown dtype %s", v.ParameterName, v.DType)
		}
		elements := int64(1)
		for _, d := range v.Dimensions {
			if d < 0 || (d > 0 && elements > math.MaxInt64/int64(d)/size) {
				return fmt.Errorf("variable %q: bad dimensions %v", v.ParameterName, v.Dimensions)
			}
			elements *= int64(d)
		}
		if v.Length != elements*size {
			return fmt.Errorf("variable %q: length %d does not match %v × %s (%d bytes)", v.ParameterName, v.Length, v.Dimensions, v.DType, elements*size)
		}
		if v.Pos != pos {
			return fmt.Errorf("variable %q: at byte %d, expected %d", v.ParameterName, v.Pos, pos)
		}
		pos += v.Length
		if pos > maxCheckpointBytes || pos > 64*binSize+(1<<20) {
			return fmt.Errorf("variables declare %d bytes, more than the %d-byte data file can hold", pos, binSize)
		}
	}
	return nil
}

// dtypeSize is the dtype's size in bytes, 0 for an invalid one (GoMLX's
// DType.Size panics on those).
func dtypeSize(dt dtypes.DType) (size int64) {
	defer func() {
		if recover() != nil {
			size = 0
		}
	}()
	return int64(dt.Size())
}
