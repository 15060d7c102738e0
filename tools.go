//go:build tools

// Package tools pins the command-line tools the notebooks need, so that
// `go install` builds them at the versions in go.mod without asking the module
// proxy for a version list (it refuses gonb's): GoNB, the Jupyter kernel that
// runs the notebooks in notebooks/, and goimports, which GoNB calls on every
// cell. scripts/setup.sh installs both from here.
package tools

import (
	_ "github.com/janpfeifer/gonb"
	_ "golang.org/x/tools/cmd/goimports"
)
