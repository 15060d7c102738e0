package gocompute

import (
	"fmt"
	"unsafe"

	"github.com/gomlx/compute"
	cbfloat16 "github.com/gomlx/compute/dtypes/bfloat16"
	cfloat16 "github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/x448/float16"
)

// Buffers are compute.Buffer values; GoMLX v0.26 holds them as opaque
// backends.Buffer and hands them back through these methods.

func bufferOf(b backends.Buffer) (compute.Buffer, error) {
	buf, ok := b.(compute.Buffer)
	if !ok || buf == nil {
		return nil, fmt.Errorf("buffer %T was not made by the %s backend", b, BackendName)
	}
	return buf, nil
}

func (b *Backend) BufferFinalize(buffer backends.Buffer) error {
	buf, err := bufferOf(buffer)
	if err != nil {
		return err
	}
	return buf.Finalize()
}

func (b *Backend) BufferShape(buffer backends.Buffer) (shapes.Shape, error) {
	buf, err := bufferOf(buffer)
	if err != nil {
		return shapes.Shape{}, err
	}
	s, err := buf.Shape()
	if err != nil {
		return shapes.Shape{}, err
	}
	return fromShape(s), nil
}

func (b *Backend) BufferDeviceNum(buffer backends.Buffer) (backends.DeviceNum, error) {
	buf, err := bufferOf(buffer)
	if err != nil {
		return 0, err
	}
	d, err := buf.DeviceNum()
	return backends.DeviceNum(d), err
}

func (b *Backend) BufferToFlatData(buffer backends.Buffer, flat any) error {
	buf, err := bufferOf(buffer)
	if err != nil {
		return err
	}
	return buf.ToFlatData(toComputeFlat(flat))
}

func (b *Backend) BufferFromFlatData(deviceNum backends.DeviceNum, flat any, shape shapes.Shape) (backends.Buffer, error) {
	return b.cb.BufferFromFlatData(compute.DeviceNum(deviceNum), toComputeFlat(flat), toShape(shape))
}

func (b *Backend) HasSharedBuffers() bool { return b.cb.HasSharedBuffers() }

func (b *Backend) NewSharedBuffer(deviceNum backends.DeviceNum, shape shapes.Shape) (backends.Buffer, any, error) {
	buf, flat, err := b.cb.NewSharedBuffer(compute.DeviceNum(deviceNum), toShape(shape))
	if err != nil {
		return nil, nil, err
	}
	return buf, fromComputeFlat(flat), nil
}

func (b *Backend) BufferData(buffer backends.Buffer) (any, error) {
	buf, err := bufferOf(buffer)
	if err != nil {
		return nil, err
	}
	flat, err := buf.Data()
	if err != nil {
		return nil, err
	}
	return fromComputeFlat(flat), nil
}

func (b *Backend) BufferCopyToDevice(source backends.Buffer, deviceNum backends.DeviceNum) (backends.Buffer, error) {
	buf, err := bufferOf(source)
	if err != nil {
		return nil, err
	}
	return buf.CopyToDevice(compute.DeviceNum(deviceNum))
}

// toComputeFlat and fromComputeFlat reinterpret half-precision slices
// between GoMLX's and compute's types, both 16-bit values with the same
// bit layout, without copying; every other slice passes unchanged.
func toComputeFlat(flat any) any {
	switch v := flat.(type) {
	case []bfloat16.BFloat16:
		return reinterpret[bfloat16.BFloat16, cbfloat16.BFloat16](v)
	case []float16.Float16:
		return reinterpret[float16.Float16, cfloat16.Float16](v)
	}
	return flat
}

func fromComputeFlat(flat any) any {
	switch v := flat.(type) {
	case []cbfloat16.BFloat16:
		return reinterpret[cbfloat16.BFloat16, bfloat16.BFloat16](v)
	case []cfloat16.Float16:
		return reinterpret[cfloat16.Float16, float16.Float16](v)
	}
	return flat
}

func reinterpret[From, To ~uint16](s []From) []To {
	if s == nil {
		return nil
	}
	return unsafe.Slice((*To)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}
