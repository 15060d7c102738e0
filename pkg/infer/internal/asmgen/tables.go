package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"

	"github.com/mmcloughlin/avo/printer"
)

var tablesOut = flag.String("tables", "", "Go file to write the kernel tables to (none when empty)")

// table is one kernel family as the Go package sees it: a slice of type
// typ whose entry r-1 is the kernel for r rows.
type table struct {
	name, typ string
	kernels   []string
}

// tables holds the families in the order their kernels are written.
var tables []*table

// kernelName names the kernel of family for rows rows and adds it to the
// family's table, which must already hold the kernels for 1..rows-1 rows.
func kernelName(family, typ string, rows int) string {
	var t *table
	for _, x := range tables {
		if x.name == family {
			t = x
		}
	}
	if t == nil {
		t = &table{name: family, typ: typ}
		tables = append(tables, t)
	}
	name := fmt.Sprintf("%s_%d", family, rows)
	if t.typ != typ || len(t.kernels) != rows-1 {
		panic(fmt.Sprintf("asmgen: %s (%s) out of order in table %s (%s, %d kernels)", name, typ, family, t.typ, len(t.kernels)))
	}
	t.kernels = append(t.kernels, name)
	return name
}

// writeTables writes the tables, one package-level slice per family, to
// *tablesOut.
func writeTables() error {
	if *tablesOut == "" {
		return nil
	}
	cfg := printer.NewGoRunConfig()
	if p := flag.Lookup("pkg").Value.String(); p != "" {
		cfg.Pkg = p
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// %s\n\n//go:build amd64\n\npackage %s\n\n", cfg.GeneratedWarning(), cfg.Pkg)
	b.WriteString("// The kernel families of gemm_amd64.s: entry r-1 of each table is the\n// kernel for r rows.\nvar (\n")
	for _, t := range tables {
		fmt.Fprintf(&b, "\t%s = []%s{", t.name, t.typ)
		for i, k := range t.kernels {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
		}
		b.WriteString("}\n")
	}
	b.WriteString(")\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return err
	}
	return os.WriteFile(*tablesOut, src, 0o644)
}
