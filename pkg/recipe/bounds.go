package recipe

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"
)

// Bounds on a recipe, checked before and after the YAML parser sees it.
// The parser's memory and time grow much faster than the text: 100 KB of
// nested brackets took 3.9 GB, and 1 MiB of top-level keys 22 s. A recipe
// is a page of settings (the shipped ones are under 3 KB), so these
// bounds leave room for any real one and keep parsing a hostile file under
// a second and well under 100 MB.
const (
	// MaxRecipeBytes bounds the text: it also bounds the node count.
	MaxRecipeBytes = 64 << 10
	// MaxNesting bounds how deep mappings and lists may nest.
	MaxNesting = 32
	// maxNodes bounds the parsed document's nodes.
	maxNodes = 20000
)

// checkText refuses what is no recipe before it reaches the parser: text
// over MaxRecipeBytes, bytes that are not UTF-8 text (a binary file), and
// flow collections ([…], {…}) nested deeper than MaxNesting. The nesting
// is counted on the YAML lexer's tokens, which know quotes, comments and
// block scalars exactly (a "[" in a description is text); the lexer is
// linear where the parser is not (64 KiB of brackets: tens of ms).
func (d *Decoder) checkText(src []byte) error {
	if len(src) > MaxRecipeBytes {
		return &Error{File: d.file, Msg: fmt.Sprintf("the recipe is more than %d bytes (64 KiB), the most a recipe may be", MaxRecipeBytes)}
	}
	line, col := 1, 1
	for i := 0; i < len(src); {
		c := src[i]
		size := 1
		if c >= utf8.RuneSelf {
			var r rune
			if r, size = utf8.DecodeRune(src[i:]); r == utf8.RuneError && size == 1 {
				return &Error{File: d.file, Line: line, Col: col, Msg: fmt.Sprintf("byte 0x%02x is not UTF-8 text: a recipe is a YAML text file", c)}
			}
		} else if c < 0x20 && c != '\n' && c != '\t' && c != '\r' || c == 0x7f {
			return &Error{File: d.file, Line: line, Col: col, Msg: fmt.Sprintf("control byte 0x%02x: a recipe is a YAML text file", c)}
		}
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	depth := 0
	for _, tk := range lexer.Tokenize(string(src)) {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			if depth++; depth > MaxNesting {
				e := &Error{File: d.file, Msg: fmt.Sprintf("nested more than %d levels deep", MaxNesting)}
				if tk.Position != nil {
					e.Line, e.Col = tk.Position.Line, tk.Position.Column
				}
				return e
			}
		case token.SequenceEndType, token.MappingEndType:
			depth = max(depth-1, 0)
		}
	}
	return nil
}

// checkTree bounds the parsed document: its nesting (block mappings and
// lists included) and its node count.
func (d *Decoder) checkTree(root ast.Node) error {
	nodes := 0
	var walk func(n ast.Node, depth int) error
	walk = func(n ast.Node, depth int) error {
		if n == nil {
			return nil
		}
		if nodes++; nodes > maxNodes {
			return d.Errorf(n, "the recipe has more than %d YAML nodes", maxNodes)
		}
		var children []ast.Node
		switch v := n.(type) {
		case *ast.MappingNode:
			for _, mv := range v.Values {
				children = append(children, mv)
			}
			depth++
		case *ast.SequenceNode:
			children = v.Values
			depth++
		case *ast.MappingValueNode: // one key: value, inside a mapping or alone
			children = []ast.Node{v.Key, v.Value}
		case *ast.AnchorNode:
			children = []ast.Node{v.Value}
		case *ast.TagNode:
			children = []ast.Node{v.Value}
		}
		if depth > MaxNesting {
			return d.Errorf(n, "nested more than %d levels deep", MaxNesting)
		}
		for _, c := range children {
			if err := walk(c, depth); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, 0)
}

// maxQuoted is how much of a value an error message repeats.
const maxQuoted = 48

// quoted is s as a Go-quoted string for an error message, cut to
// maxQuoted runes: a 3 MB value must not become a 3 MB error line.
func quoted(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	runes := []rune(s)
	return strconv.Quote(string(runes[:maxQuoted])) + fmt.Sprintf("… (%d characters)", len(runes))
}
