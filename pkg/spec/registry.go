package spec

import (
	"fmt"
	"regexp"
	"slices"
	"sync"
)

// registry holds the architectures a recipe can name: the zoo's (zoo.go)
// and the ones a program registers.
var registry = struct {
	sync.RWMutex
	names []string // in registration order: the zoo's first
	nets  map[string]func(Model) Net
}{nets: map[string]func(Model) Net{}}

// archName is what an architecture may be called: it is a scope of GoMLX
// variables (/<arch>/…) and a word in recipes.
var archName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// Register adds an architecture: net describes the model for a Model's
// settings (its Activation, and Hidden or Dropout where the net reads them;
// Model.Net applies Widths itself). Call it while the program sets up —
// from an init function, or before it parses a recipe that names the
// architecture. Register panics on a duplicate or invalid name, a nil
// function, or a net that does not validate for the default Model{Arch:
// name}: registering is a program's set-up, not a user's input.
func Register(name string, net func(m Model) Net) {
	if !archName.MatchString(name) {
		panic(fmt.Sprintf("spec.Register: arch name %q must be a letter followed by letters, digits, _ or -", name))
	}
	if net == nil {
		panic(fmt.Sprintf("spec.Register: arch %q has no net function", name))
	}
	if err := checkNet(net(Model{Arch: name}).resolve("", nil)); err != nil {
		panic(fmt.Sprintf("spec.Register: arch %q: %v", name, err))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.nets[name]; dup {
		panic(fmt.Sprintf("spec.Register: arch %q registered twice", name))
	}
	registry.nets[name] = net
	registry.names = append(registry.names, name)
}

// Archs lists the architectures a Model can name: the zoo's (mlp, lenet5,
// resnet8, resnet20, resnet18), then the registered ones in order.
func Archs() []string {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Clone(registry.names)
}

func lookupArch(name string) (func(Model) Net, bool) {
	registry.RLock()
	defer registry.RUnlock()
	net, ok := registry.nets[name]
	return net, ok
}

// Net is the model's description: its architecture's net for these
// settings, with every op's Name made its full name under the model's
// scope ("stage1/block1/a") and Widths applied. Nil for an unknown arch.
func (m Model) Net() Net {
	net, ok := lookupArch(m.Arch)
	if !ok {
		return nil
	}
	return net(m).resolve("", m.Widths)
}
