package runs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Metrics are named results (a stage's, a run's final ones). A value may
// be NaN or ±Inf: a run that diverged reports what it saw, and every
// reader gets it back. In JSON, finite values are numbers and the others
// the strings "NaN", "+Inf" and "-Inf" (JSON has no such numbers).
type Metrics map[string]float64

// MarshalJSON writes m with its keys sorted, non-finite values as strings.
func (m Metrics) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kj)
		b.WriteByte(':')
		b.WriteString(jsonNumber(m[k]))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes (and plain JSON objects of
// numbers). JSON null leaves m unchanged.
func (m *Metrics) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	out := make(Metrics, len(raw))
	for k, v := range raw {
		f, err := parseJSONNumber(v)
		if err != nil {
			return fmt.Errorf("metric %q: %w", k, err)
		}
		out[k] = f
	}
	*m = out
	return nil
}

// nonFinite names the values JSON has no number for.
func nonFinite(v float64) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "NaN", true
	case math.IsInf(v, 1):
		return "+Inf", true
	case math.IsInf(v, -1):
		return "-Inf", true
	}
	return "", false
}

// jsonNumber is v as JSON: a number, or a quoted name for a non-finite v.
func jsonNumber(v float64) string {
	if s, ok := nonFinite(v); ok {
		return `"` + s + `"`
	}
	// As encoding/json writes float64s.
	b, _ := json.Marshal(v)
	return string(b)
}

// parseJSONNumber reads a JSON number or one of the strings "NaN", "+Inf",
// "Inf" and "-Inf".
func parseJSONNumber(raw json.RawMessage) (float64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "+Inf", "Inf":
			return math.Inf(1), nil
		case "-Inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("%s is not a number", strconv.Quote(s))
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, fmt.Errorf("%s is not a number", raw)
	}
	return f, nil
}

// MarshalJSON writes a point; a non-finite value is a string, as in Metrics.
func (p Point) MarshalJSON() ([]byte, error) {
	type plain Point
	q := struct {
		plain
		Value json.RawMessage `json:"value"`
	}{plain(p), json.RawMessage(jsonNumber(p.Value))}
	return json.Marshal(q)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Point) UnmarshalJSON(data []byte) error {
	type plain Point
	q := struct {
		*plain
		Value json.RawMessage `json:"value"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(data, &q); err != nil {
		return err
	}
	if len(q.Value) == 0 || string(q.Value) == "null" {
		return nil
	}
	v, err := parseJSONNumber(q.Value)
	if err != nil {
		return fmt.Errorf("point %q: %w", p.Name, err)
	}
	p.Value = v
	return nil
}
