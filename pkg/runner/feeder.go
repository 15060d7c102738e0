package runner

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxds "github.com/gomlx/gomlx/pkg/ml/datasets"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/lathe-ml/lathe/datasets"
)

// feeder runs train steps from a dataset: on one device, or data-parallel
// across several (each device gets a shard of every batch; GoMLX's SPMD
// compilation averages the gradients across replicas).
type feeder interface {
	reset()
	// step runs one train step; io.EOF at the end of an epoch.
	step(trainer *train.Trainer) ([]*tensors.Tensor, error)
	// skip takes the next batch without training on it (to resume a run
	// with the data order it had).
	skip() error
	stepsPerEpoch() int
}

// singleDevice feeds one device; extra, when set, adds the model's
// per-batch train inputs (Model.SetTrainInputs).
type singleDevice struct {
	ds    *datasets.Batches
	extra TrainInputs
}

func (f singleDevice) reset()             { f.ds.Reset() }
func (f singleDevice) stepsPerEpoch() int { return f.ds.StepsPerEpoch() }
func (f singleDevice) skip() error {
	_, inputs, labels, err := f.ds.Yield()
	finalize(inputs...)
	finalize(labels...)
	return err
}

func (f singleDevice) step(trainer *train.Trainer) ([]*tensors.Tensor, error) {
	spec, inputs, labels, err := f.ds.Yield()
	if err != nil {
		return nil, err
	}
	defer finalize(labels...)
	defer finalize(inputs...)
	if f.extra != nil {
		more, err := f.extra(inputs)
		if err != nil {
			return nil, err
		}
		defer finalize(more...)
		inputs = append(inputs[:len(inputs):len(inputs)], more...)
		// GoMLX's trainer keeps one count of inputs per spec, train and
		// eval steps alike: the longer train inputs need a spec of their own.
		spec = withTrainInputs{spec}
	}
	return trainer.TrainStep(spec, inputs, labels)
}

// withTrainInputs is the spec of a train step whose inputs carry the
// model's extra train inputs.
type withTrainInputs struct{ spec any }

// dataParallel shards each batch along its first axis over a 1-D device
// mesh, with GoMLX's distributed accumulator feeding the devices.
type dataParallel struct {
	ds       *gomlxds.DistributedAccumulator
	shards   *datasets.Batches
	replicas int
}

func newDataParallel(b backends.Backend, set *datasets.Set, batch, replicas int, seed int64) (*dataParallel, error) {
	if batch%replicas != 0 {
		return nil, fmt.Errorf("data.batch_size %d is not divisible by %d devices", batch, replicas)
	}
	shards, err := datasets.NewBatches(set, batch/replicas, true, seed, true)
	if err != nil {
		return nil, err
	}
	mesh, err := distributed.NewDeviceMesh([]int{replicas}, []string{"replicas"})
	if err != nil {
		return nil, err
	}
	spec, err := distributed.NewShardingSpec(mesh, distributed.AxisSpec{"replicas"})
	if err != nil {
		return nil, err
	}
	specs := []*distributed.ShardingSpec{spec}
	ds, err := gomlxds.NewDistributedAccumulator(b, shards, distributed.AutoSharding, specs, specs, nil)
	if err != nil {
		return nil, err
	}
	return &dataParallel{ds: ds, shards: shards, replicas: replicas}, nil
}

func (f *dataParallel) reset()             { f.ds.Reset() }
func (f *dataParallel) stepsPerEpoch() int { return f.shards.StepsPerEpoch() / f.replicas }
func (f *dataParallel) skip() error {
	_, inputs, labels, err := f.ds.DistributedYield()
	for _, t := range append(inputs, labels...) {
		_ = t.FinalizeAll()
	}
	return err
}

func (f *dataParallel) step(trainer *train.Trainer) ([]*tensors.Tensor, error) {
	spec, inputs, labels, err := f.ds.DistributedYield()
	if err != nil {
		return nil, err
	}
	return trainer.DistributedTrainStep(f.ds.Strategy(), f.ds.DeviceAssignment(), spec, inputs, labels)
}

// replicasFor turns a train stage's devices setting into a replica count:
// 0 (unset) is 1; -1 is every device of the backend.
func replicasFor(devices int, b backends.Backend) (int, error) {
	n := b.NumDevices()
	switch {
	case devices == 0:
		return 1, nil
	case devices < 0:
		return n, nil
	case devices > n:
		return 0, fmt.Errorf("devices: %d requested, the %s backend has %d", devices, b.String(), n)
	}
	return devices, nil
}
