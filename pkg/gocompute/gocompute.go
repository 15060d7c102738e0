// Package gocompute presents the Go backend of github.com/gomlx/compute —
// GoMLX's own SIMD backend, with AVX-512/AVX2 GEMM, direct convolutions and
// their gradients — as a GoMLX v0.26 backends.Backend, so that Lathe's
// graphs, written against GoMLX v0.26, train on its kernels.
//
// compute's API is GoMLX v0.26's backend API moved into its own module:
// the same ops with the same semantics behind other types (compute.Value
// for backends.Op, a Builder with Functions, its own shapes and dtypes,
// DotGeneral with a config). The adapter converts those types while a graph
// is built and at buffer transfers — never per element: data of the two
// bfloat16/float16 types is reinterpreted in place, both being uint16.
//
// compute's SIMD paths exist only in binaries built with Go 1.27+ and
// GOEXPERIMENT=simd; SIMDBuilt says whether this one was. Without them the
// backend still works, on compute's portable Go kernels.
//
// Example:
//
//	b, err := gocompute.New("")        // or backends.NewWithConfig("gocompute")
//	if err != nil { return err }
//	fmt.Println(b.Description())      // names the active kernels: AVX2, AVX512…
//	g := graph.NewGraph(b, "square")
package gocompute

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	cdtypes "github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	cshapes "github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// BackendName is the name this backend registers with GoMLX
// (GOMLX_BACKEND=gocompute, or "gocompute:parallelism=2").
const BackendName = "gocompute"

func init() {
	backends.Register(BackendName, func(config string) (backends.Backend, error) { return New(config) })
}

// Backend is compute's Go backend seen through GoMLX v0.26's interface.
type Backend struct {
	cb   compute.Backend
	caps backends.Capabilities
}

var _ backends.Backend = (*Backend)(nil)

// New opens compute's Go backend with its configuration string (see
// compute/gobackend: "parallelism=N", "ops_sequential", …).
func New(config string) (*Backend, error) {
	cb, err := gobackend.New(config)
	if err != nil {
		return nil, fmt.Errorf("gocompute: %w", err)
	}
	return &Backend{cb: cb, caps: convertCapabilities(cb.Capabilities())}, nil
}

func (b *Backend) Name() string { return "Go compute (github.com/gomlx/compute)" }

// String is "go", as compute names its Go backend and as GoMLX's simplego
// names itself: messages say "the go backend" whichever computes.
func (b *Backend) String() string      { return "go" }
func (b *Backend) Description() string { return b.cb.Description() }
func (b *Backend) NumDevices() int     { return b.cb.NumDevices() }
func (b *Backend) DeviceDescription(d backends.DeviceNum) string {
	return b.cb.DeviceDescription(compute.DeviceNum(d))
}
func (b *Backend) Capabilities() backends.Capabilities { return b.caps }
func (b *Backend) Finalize()                           { b.cb.Finalize() }
func (b *Backend) IsFinalized() bool                   { return b.cb.IsFinalized() }

// Builder starts a computation; GoMLX v0.26 builds one function per graph,
// compute's main function.
func (b *Backend) Builder(name string) backends.Builder {
	cbuilder := b.cb.Builder(name)
	return &builder{function: function{fn: cbuilder.Main(), notNaN: map[compute.Value]bool{}}, cbuilder: cbuilder, backend: b}
}

// convertCapabilities maps compute's op and dtype sets onto GoMLX v0.26's
// by name (the two OpType enums are numbered differently). Dot, which
// compute dropped, is offered through DotGeneral.
func convertCapabilities(c compute.Capabilities) backends.Capabilities {
	caps := backends.Capabilities{Operations: map[backends.OpType]bool{}, DTypes: map[dtypes.DType]bool{}}
	for op, ok := range c.Operations {
		if !ok {
			continue
		}
		if gop, err := backends.OpTypeString(op.String()); err == nil {
			caps.Operations[gop] = true
		}
	}
	if caps.Operations[backends.OpTypeDotGeneral] {
		caps.Operations[backends.OpTypeDot] = true
	}
	if caps.Operations[backends.OpTypeGather] { // see DynamicSlice
		caps.Operations[backends.OpTypeDynamicSlice] = true
	}
	for dt, ok := range c.DTypes {
		if ok && dt < cdtypes.Int1 { // GoMLX v0.26 knows no 1-bit types
			caps.DTypes[dtypes.DType(dt)] = true
		}
	}
	return caps
}

// Kernels names the kernel paths active in this process, e.g.
// "linux/amd64, SIMD, AVX2, AVX512".
func (b *Backend) Kernels() string {
	d := b.cb.Description()
	if i, j := strings.Index(d, "("), strings.Index(d, ", parallelism"); i >= 0 && j > i {
		return d[i+1 : j]
	}
	return d
}

func toShape(s shapes.Shape) cshapes.Shape {
	return cshapes.Make(cdtypes.DType(s.DType), s.Dimensions...)
}

func fromShape(s cshapes.Shape) shapes.Shape {
	if s.IsTuple() {
		tuple := make([]shapes.Shape, len(s.TupleShapes))
		for i, t := range s.TupleShapes {
			tuple[i] = fromShape(t)
		}
		return shapes.MakeTuple(tuple)
	}
	return shapes.Make(dtypes.DType(s.DType), s.Dimensions...)
}

func values(ops []backends.Op) []compute.Value {
	vs := make([]compute.Value, len(ops))
	for i, op := range ops {
		vs[i] = op
	}
	return vs
}

func opsOf(vs []compute.Value) []backends.Op {
	ops := make([]backends.Op, len(vs))
	for i, v := range vs {
		ops[i] = v
	}
	return ops
}
