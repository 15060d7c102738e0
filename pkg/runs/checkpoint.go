package runs

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// checkpointHeader is the JSON half of a GoMLX checkpoint: the variables'
// shapes and where their bytes sit in the .bin file beside it.
type checkpointHeader struct {
	Variables []struct {
		ParameterName string
		Dimensions    []int
		DType         dtypeName
		Pos, Length   int64
	}
}

// maxCheckpointBytes bounds what a checkpoint may declare, so a corrupt
// header fails here instead of making GoMLX allocate it.
const maxCheckpointBytes = 1 << 36

// CheckCheckpointHeader validates one checkpoint's JSON header against the
// size of its data file: known dtypes, non-negative dimensions, lengths
// that match the shapes, positions contiguous from 0, and a total the data
// file can hold: at most 64×binSize+1 MiB (allowing for compression) and
// never more than 1<<36 bytes. A negative binSize is refused.
func CheckCheckpointHeader(data []byte, binSize int64) error {
	_, err := checkHeader(data, binSize)
	return err
}

// checkHeader is CheckCheckpointHeader, returning the bytes the variables
// take together.
func checkHeader(data []byte, binSize int64) (int64, error) {
	if binSize < 0 {
		return 0, fmt.Errorf("data file size %d is negative", binSize)
	}
	// What the data file can hold, allowing for compression, computed
	// without overflowing for any size.
	limit := int64(maxCheckpointBytes)
	if binSize <= (maxCheckpointBytes-(1<<20))/64 {
		limit = 64*binSize + (1 << 20)
	}
	var h checkpointHeader
	if err := json.Unmarshal(data, &h); err != nil {
		return 0, fmt.Errorf("header is not valid JSON: %w", err)
	}
	var pos int64
	for _, v := range h.Variables {
		size := v.DType.size
		if size <= 0 {
			return 0, fmt.Errorf("variable %q: unknown dtype %s", v.ParameterName, v.DType)
		}
		elements := int64(1)
		for _, d := range v.Dimensions {
			if d < 0 || (d > 0 && elements > math.MaxInt64/int64(d)/size) {
				return 0, fmt.Errorf("variable %q: bad dimensions %v", v.ParameterName, v.Dimensions)
			}
			elements *= int64(d)
		}
		if v.Length != elements*size {
			return 0, fmt.Errorf("variable %q: length %d does not match %v × %s (%d bytes)", v.ParameterName, v.Length, v.Dimensions, v.DType, elements*size)
		}
		if v.Pos != pos {
			return 0, fmt.Errorf("variable %q: at byte %d, expected %d", v.ParameterName, v.Pos, pos)
		}
		if v.Length > limit-pos {
			return 0, fmt.Errorf("variable %q ends past byte %d: more than the %d-byte data file can hold", v.ParameterName, limit, binSize)
		}
		pos += v.Length
	}
	return pos, nil
}

// dtypeName is a GoMLX DType as its checkpoints write it: the name as a
// JSON string ("Float32"), read case-insensitively as GoMLX does
// (dtypes.DTypeString). Lathe keeps this table rather than import GoMLX, so
// the store and its readers (the dashboard) do not link it. size is 0 for
// a dtype GoMLX cannot size (InvalidDType, sub-byte and float8 types: its
// DType.Size panics on them) and for an unknown name.
type dtypeName struct {
	name string
	size int64
}

// dtypeSizes are the byte sizes of the GoMLX v0.26.0 dtypes that have a Go
// type (dtypes.DType.GoType), by lower-case name.
var dtypeSizes = map[string]int64{
	"bool": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8,
	"uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8,
	"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8,
	"complex64": 8, "complex128": 16,
}

func (d dtypeName) String() string { return d.name }

// UnmarshalJSON reads a dtype name; any other JSON is an error, as for GoMLX.
func (d *dtypeName) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("DType should be a string, got %s", data)
	}
	*d = dtypeName{name: s, size: dtypeSizes[strings.ToLower(s)]}
	return nil
}
