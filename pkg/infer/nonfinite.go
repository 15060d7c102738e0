package infer

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// NonFinite counts, by tensor name, the floating-point values (F32 and
// BF16 tensors: weights, biases, and an int8 file's scales) that are NaN or
// ±Inf. Tensors with none are left out, and a file with none gives nil.
//
// A model with one such weight computes NaN for every example it reaches
// (softmax spreads one NaN logit to all classes), so commands warn, or
// refuse a file, before using it. NonFinite is cheap enough to call on
// every file read: it tests the exponent bits of the raw bytes in one
// pass, decoding and allocating nothing unless it finds something.
func (f *File) NonFinite() map[string]int {
	var counts map[string]int
	for name, t := range f.Tensors {
		n := nonFinite(t)
		if n == 0 {
			continue
		}
		if counts == nil {
			counts = map[string]int{}
		}
		counts[name] = n
	}
	return counts
}

// nonFinite counts a tensor's NaN and ±Inf values: those whose exponent
// bits are all ones (F32: bits 23–30; BF16, F32's upper half: bits 7–14).
func nonFinite(t Tensor) int {
	n := 0
	switch t.DType {
	case F32:
		for i := 0; i+4 <= len(t.Data); i += 4 {
			if binary.LittleEndian.Uint32(t.Data[i:])&0x7f800000 == 0x7f800000 {
				n++
			}
		}
	case BF16:
		for i := 0; i+2 <= len(t.Data); i += 2 {
			if binary.LittleEndian.Uint16(t.Data[i:])&0x7f80 == 0x7f80 {
				n++
			}
		}
	}
	return n
}

// DescribeNonFinite puts NonFinite's counts in words, tensors in name
// order, at most five named: "tensor fc1/weights holds 3 non-finite
// values (NaN or ±Inf)", or "tensors fc1/biases (1) and fc1/weights (3)
// hold non-finite values (NaN or ±Inf)". Callers add the file's name and
// what follows from it; "" for no counts.
func DescribeNonFinite(counts map[string]int) string {
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return ""
	case 1:
		n := counts[names[0]]
		values := "values"
		if n == 1 {
			values = "value"
		}
		return fmt.Sprintf("tensor %s holds %d non-finite %s (NaN or ±Inf)", names[0], n, values)
	}
	const shown = 5
	var parts []string
	for _, name := range names[:min(shown, len(names))] {
		parts = append(parts, fmt.Sprintf("%s (%d)", name, counts[name]))
	}
	list := strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	if len(names) > shown {
		list = strings.Join(parts, ", ") + fmt.Sprintf(" and %d more", len(names)-shown)
	}
	return fmt.Sprintf("tensors %s hold non-finite values (NaN or ±Inf)", list)
}
