package recipe

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	yamlerrors "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Error is a recipe problem at a position in its file. It prints as one
// line, file:line:col: message, the form editors and terminals link to.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Decoder walks a parsed YAML document with the file name at hand, so every
// error it returns names its position. Stage kinds decode their keys with it.
type Decoder struct {
	file string
}

// Node is a node of the recipe's YAML document, with its position.
type Node = ast.Node

// File is the name errors give.
func (d *Decoder) File() string { return d.file }

// Errorf is an error at n's position (the file's start when n has none).
func (d *Decoder) Errorf(n ast.Node, format string, args ...any) *Error {
	e := &Error{File: d.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return e
}

// parseDocument parses YAML text into its single document's body.
func (d *Decoder) parseDocument(src []byte) (ast.Node, error) {
	if err := d.checkText(src); err != nil {
		return nil, err
	}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		var ye interface {
			GetToken() *token.Token
			GetMessage() string
		}
		if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
			p := ye.GetToken().Position
			return nil, &Error{File: d.file, Line: p.Line, Col: p.Column, Msg: "YAML syntax: " + ye.GetMessage()}
		}
		return nil, &Error{File: d.file, Msg: "YAML syntax: " + runs.FirstLine(yamlerrors.FormatError(err, false, false))}
	}
	var docs []ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc.Body)
		}
	}
	switch len(docs) {
	case 0:
		return nil, &Error{File: d.file, Msg: "the recipe is empty (expected keys: " + strings.Join(topLevelKeys, ", ") + ")"}
	case 1:
		if err := d.checkTree(docs[0]); err != nil {
			return nil, err
		}
		return docs[0], nil
	}
	return nil, d.Errorf(docs[1], "a recipe file holds one YAML document, found %d", len(docs))
}

// Unwrap looks through anchors, aliases and tags to the value.
func Unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			return n // aliases are resolved by the decoder's caller only when needed
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

// Field is one key: value of a mapping, with the key's node for errors.
type Field struct {
	Key     string
	KeyNode Node
	Value   Node
}

// Fields returns a mapping's fields in order, rejecting keys not in allowed
// (with a suggestion for a likely typo) and duplicates.
func (d *Decoder) Fields(n ast.Node, what string, allowed []string) ([]Field, error) {
	m, err := d.mapping(n, what+" must be a mapping of "+strings.Join(allowed, ", "))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var fields []Field
	for _, mv := range m.Values {
		keyNode := ast.Node(mv.Key)
		key := strings.TrimSpace(mv.Key.String())
		if !contains(allowed, key) {
			msg := fmt.Sprintf("unknown key %s in %s", quoted(key), what)
			if s := suggest(key, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, d.Errorf(keyNode, "%s; allowed: %s", msg, strings.Join(allowed, ", "))
		}
		if seen[key] {
			return nil, d.Errorf(keyNode, "duplicate key %s in %s", quoted(key), what)
		}
		seen[key] = true
		fields = append(fields, Field{Key: key, KeyNode: keyNode, Value: mv.Value})
	}
	return fields, nil
}

// mapping is n as a mapping (a single key: value too); else an error
// saying must, then what n is.
func (d *Decoder) mapping(n ast.Node, must string) (*ast.MappingNode, error) {
	switch v := Unwrap(n).(type) {
	case *ast.MappingNode:
		return v, nil
	case *ast.MappingValueNode: // a one-key mapping
		return &ast.MappingNode{BaseNode: v.BaseNode, Values: []*ast.MappingValueNode{v}}, nil
	}
	return nil, d.Errorf(n, "%s, got %s", must, Describe(n))
}

// AnyFields reads a mapping whose keys are names the caller checks (layer
// names, say): only duplicates are refused here.
func (d *Decoder) AnyFields(n ast.Node, what string) ([]Field, error) {
	m, err := d.mapping(n, what+" must be a mapping")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var fields []Field
	for _, mv := range m.Values {
		key := strings.TrimSpace(mv.Key.String())
		if seen[key] {
			return nil, d.Errorf(mv.Key, "duplicate key %s in %s", quoted(key), what)
		}
		seen[key] = true
		fields = append(fields, Field{Key: key, KeyNode: mv.Key, Value: mv.Value})
	}
	return fields, nil
}

// Describe says what a node holds, for errors: "the string \"x\"", "a list".
func Describe(n Node) string {
	switch Unwrap(n).(type) {
	case nil:
		return "nothing"
	case *ast.NullNode:
		return "null"
	case *ast.StringNode, *ast.LiteralNode:
		return "the string " + quoted(strings.TrimSpace(n.String()))
	case *ast.IntegerNode:
		return "the integer " + n.String()
	case *ast.FloatNode:
		return "the number " + n.String()
	case *ast.BoolNode:
		return "the boolean " + n.String()
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	}
	return quoted(strings.TrimSpace(n.String()))
}

// String reads a string; what names the value in errors.
func (d *Decoder) String(n ast.Node, what string) (string, error) {
	switch v := Unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value, nil
	case *ast.LiteralNode:
		return v.Value.Value, nil
	}
	return "", d.Errorf(n, "%s must be a string, got %s", what, Describe(n))
}

// Enum reads one of allowed, suggesting the closest for a typo.
func (d *Decoder) Enum(n ast.Node, what string, allowed []string) (string, error) {
	s, err := d.String(n, what)
	if err != nil {
		return "", &Error{File: d.file, Line: err.(*Error).Line, Col: err.(*Error).Col,
			Msg: fmt.Sprintf("%s must be one of %s, got %s", what, strings.Join(allowed, ", "), Describe(n))}
	}
	if !contains(allowed, s) {
		msg := fmt.Sprintf("unknown %s %s", what, quoted(s))
		if g := suggest(s, allowed); g != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", g)
		}
		return "", d.Errorf(n, "%s; allowed: %s", msg, strings.Join(allowed, ", "))
	}
	return s, nil
}

// Int64 reads a whole number of at least min (1e4 is accepted as 10000).
func (d *Decoder) Int64(n ast.Node, what string, min int64) (int64, error) {
	var v int64
	switch x := Unwrap(n).(type) {
	case *ast.IntegerNode:
		switch iv := x.Value.(type) {
		case int64:
			v = iv
		case uint64:
			if iv > math.MaxInt64 {
				return 0, d.Errorf(n, "%s is too large: %d", what, iv)
			}
			v = int64(iv)
		}
	case *ast.FloatNode:
		// 1e4 reads as a float in YAML; accept it when it is a whole number.
		if x.Value != math.Trunc(x.Value) || math.Abs(x.Value) > 1<<53 {
			return 0, d.Errorf(n, "%s must be a whole number, got %s", what, n.String())
		}
		v = int64(x.Value)
	default:
		return 0, d.Errorf(n, "%s must be an integer, got %s", what, Describe(n))
	}
	if v < min {
		return 0, d.Errorf(n, "%s must be at least %d, got %d", what, min, v)
	}
	return v, nil
}

// Int is Int64 for values that fit an int (counts, sizes).
func (d *Decoder) Int(n Node, what string, min int64) (int, error) {
	v, err := d.Int64(n, what, min)
	return int(v), err
}

// Number reads a finite number (a string such as "1e-3" too, as YAML 1.1 leaves it).
func (d *Decoder) Number(n ast.Node, what string) (float64, error) {
	switch x := Unwrap(n).(type) {
	case *ast.IntegerNode:
		switch iv := x.Value.(type) {
		case int64:
			return float64(iv), nil
		case uint64:
			return float64(iv), nil
		}
	case *ast.FloatNode:
		return x.Value, nil
	case *ast.StringNode:
		// YAML 1.1 readers take 1e-3 as a string; users mean a number.
		if f, err := strconv.ParseFloat(x.Value, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return 0, d.Errorf(n, "%s must be a number, got %s", what, Describe(n))
}

// Positive reads a number greater than 0.
func (d *Decoder) Positive(n ast.Node, what string) (float64, error) {
	v, err := d.Number(n, what)
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, d.Errorf(n, "%s must be greater than 0, got %g", what, v)
	}
	return v, nil
}

// NonNegative reads a number of at least 0.
func (d *Decoder) NonNegative(n ast.Node, what string) (float64, error) {
	v, err := d.Number(n, what)
	if err == nil && v < 0 {
		err = d.Errorf(n, "%s must be at least 0, got %g", what, v)
	}
	return v, err
}

// Fraction reads a number in [0, 1).
func (d *Decoder) Fraction(n ast.Node, what string) (float64, error) {
	v, err := d.Number(n, what)
	if err == nil && (v < 0 || v >= 1) {
		err = d.Errorf(n, "%s must be in [0, 1), got %g", what, v)
	}
	return v, err
}

// Bool reads true or false.
func (d *Decoder) Bool(n ast.Node, what string) (bool, error) {
	if b, ok := Unwrap(n).(*ast.BoolNode); ok {
		return b.Value, nil
	}
	return false, d.Errorf(n, "%s must be true or false, got %s", what, Describe(n))
}

// List reads a sequence's items.
func (d *Decoder) List(n ast.Node, what string) ([]ast.Node, error) {
	if s, ok := Unwrap(n).(*ast.SequenceNode); ok {
		return s.Values, nil
	}
	return nil, d.Errorf(n, "%s must be a list, got %s", what, Describe(n))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the allowed word closest to s, if it is close enough to be a typo.
func suggest(s string, allowed []string) string {
	best, bestDist := "", 1<<30
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(s), a); d < bestDist {
			best, bestDist = a, d
		}
	}
	if bestDist <= 2 || (bestDist <= 3 && len(s) >= 8) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// flatten turns the document into dotted-path parameters for the run store:
// data.batch_size=128, stages.0.train.optimizer.name=adam.
func flatten(prefix string, n ast.Node, out map[string]string) {
	switch v := Unwrap(n).(type) {
	case *ast.MappingNode:
		for _, mv := range v.Values {
			flatten(join(prefix, strings.TrimSpace(mv.Key.String())), mv.Value, out)
		}
	case *ast.MappingValueNode:
		flatten(join(prefix, strings.TrimSpace(v.Key.String())), v.Value, out)
	case *ast.SequenceNode:
		scalars := true
		for _, item := range v.Values {
			switch Unwrap(item).(type) {
			case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
				scalars = false
			}
		}
		if scalars {
			var parts []string
			for _, item := range v.Values {
				parts = append(parts, strings.TrimSpace(item.String()))
			}
			out[prefix] = "[" + strings.Join(parts, ", ") + "]"
			return
		}
		for i, item := range v.Values {
			flatten(join(prefix, strconv.Itoa(i)), item, out)
		}
	case nil:
	default:
		s := strings.TrimSpace(v.String())
		if sn, ok := v.(*ast.StringNode); ok {
			s = sn.Value
		}
		out[prefix] = s
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
