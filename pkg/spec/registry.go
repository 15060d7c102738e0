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
	// imported names the archs RegisterImported added: importing a file
	// again replaces its net, which Register never does.
	imported map[string]bool
}{nets: map[string]func(Model) Net{}, imported: map[string]bool{}}

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

// RegisterImported adds, or replaces, an architecture read from a file (an
// ONNX model, see pkg/onnximport): a fixed net, which ignores the Model's
// settings but its Widths. Unlike Register it returns an error, since the
// net comes from a user's file, and it replaces an earlier import of the
// same name (the file was exported again), but never a zoo or
// programmed arch.
func RegisterImported(name string, net Net) error {
	if !archName.MatchString(name) {
		return fmt.Errorf("arch name %q must be a letter followed by letters, digits, _ or -", name)
	}
	if err := checkNet(net.resolve("", nil)); err != nil {
		return err
	}
	registry.Lock()
	defer registry.Unlock()
	if _, taken := registry.nets[name]; taken && !registry.imported[name] {
		return fmt.Errorf("arch name %q is taken by a model that was not imported", name)
	}
	if !registry.imported[name] {
		registry.names = append(registry.names, name)
		registry.imported[name] = true
	}
	net = slices.Clone(net)
	registry.nets[name] = func(Model) Net { return net }
	return nil
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
