package gocompute

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// function holds the ops of one compute function; builder adds what
// GoMLX v0.26 keeps on its Builder (parameters, constants, compilation).
type function struct {
	fn compute.Function
	// notNaN holds the values known to contain no NaN (see nan_ops.go).
	notNaN map[compute.Value]bool
}

type builder struct {
	function
	cbuilder compute.Builder
	backend  *Backend
}

var _ backends.Builder = (*builder)(nil)

func (b *builder) Name() string { return b.cbuilder.Name() }

func (b *builder) OpShape(op backends.Op) (shapes.Shape, error) {
	s, err := b.fn.Shape(op)
	if err != nil {
		return shapes.Shape{}, err
	}
	return fromShape(s), nil
}

func (b *builder) Parameter(name string, shape shapes.Shape, sharding *backends.ShardingSpec) (backends.Op, error) {
	return b.fn.Parameter(name, toShape(shape), toSharding(sharding))
}

func (b *builder) Constant(flat any, dims ...int) (backends.Op, error) {
	v, err := b.fn.Constant(toComputeFlat(flat), dims...)
	if err == nil && constantHasNoNaN(flat) {
		b.notNaN[v] = true
	}
	return v, err
}

func (b *builder) Compile(outputs []backends.Op, shardings []*backends.ShardingSpec) (backends.Executable, error) {
	var cshardings []*compute.ShardingSpec
	if shardings != nil {
		cshardings = make([]*compute.ShardingSpec, len(shardings))
		for i, s := range shardings {
			cshardings[i] = toSharding(s)
		}
	}
	if err := b.fn.Return(values(outputs), cshardings); err != nil {
		return nil, err
	}
	exec, err := b.cbuilder.Compile()
	if err != nil {
		return nil, err
	}
	return &executable{exec: exec, backend: b.backend}, nil
}

func (b *builder) DistributedSPMD(numDevices int) error {
	return b.cbuilder.DistributedSPMD(numDevices)
}

func (b *builder) DistributedAutoSharding(meshes ...backends.Mesh) error {
	cmeshes := make([]compute.Mesh, len(meshes))
	for i, m := range meshes {
		cmeshes[i] = compute.Mesh{Name: m.Name, AxesSizes: m.AxesSizes, AxesNames: m.AxesNames,
			LogicalDeviceAssignment: m.LogicalDeviceAssignment}
	}
	return b.cbuilder.DistributedAutoSharding(cmeshes...)
}

func (b *builder) DeviceAssignment(devices ...backends.DeviceNum) error {
	cdevices := make([]compute.DeviceNum, len(devices))
	for i, d := range devices {
		cdevices[i] = compute.DeviceNum(d)
	}
	return b.cbuilder.DeviceAssignment(cdevices...)
}

func (f *function) AllReduce(operands []backends.Op, reductionType backends.ReduceOpType, replicaGroups [][]int) ([]backends.Op, error) {
	vs, err := f.fn.AllReduce(values(operands), compute.ReduceOpType(reductionType), replicaGroups)
	if err != nil {
		return nil, err
	}
	return opsOf(vs), nil
}

func toSharding(s *backends.ShardingSpec) *compute.ShardingSpec {
	if s == nil {
		return nil
	}
	return &compute.ShardingSpec{Mesh: s.Mesh, Axes: s.Axes}
}

// executable runs a compiled compute function on the adapter's buffers
// (compute.Buffer values, which GoMLX v0.26 holds as opaque backends.Buffer).
type executable struct {
	exec    compute.Executable
	backend *Backend
}

func (e *executable) Finalize() { e.exec.Finalize() }

func (e *executable) Inputs() (names []string, inputShapes []shapes.Shape) {
	names, cshapes := e.exec.Inputs()
	inputShapes = make([]shapes.Shape, len(cshapes))
	for i, s := range cshapes {
		inputShapes[i] = fromShape(s)
	}
	return names, inputShapes
}

func (e *executable) Outputs() []shapes.Shape {
	cshapes := e.exec.Outputs()
	out := make([]shapes.Shape, len(cshapes))
	for i, s := range cshapes {
		out[i] = fromShape(s)
	}
	return out
}

func (e *executable) Execute(inputs []backends.Buffer, donate []bool, defaultDevice backends.DeviceNum) ([]backends.Buffer, error) {
	cinputs := make([]compute.Buffer, len(inputs))
	for i, in := range inputs {
		buf, err := bufferOf(in)
		if err != nil {
			return nil, fmt.Errorf("gocompute: input #%d: %w", i, err)
		}
		cinputs[i] = buf
	}
	outs, err := e.exec.Execute(cinputs, donate, compute.DeviceNum(defaultDevice))
	if err != nil {
		return nil, err
	}
	res := make([]backends.Buffer, len(outs))
	for i, o := range outs {
		res[i] = o
	}
	return res, nil
}
