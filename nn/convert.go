package nn

import (
	"fmt"
	"math"

	"github.com/pthkit/pth/tensor"
)

// ToFloat32 copies any real-valued tensor.Tensor (float64/32/16, bfloat16,
// float8, integers, bool; any strides) into a new float32 Tensor, casting as
// PyTorch's copy_ into a float32 tensor does. Complex and quantized tensors
// give an error wrapping tensor.ErrDType.
func ToFloat32(t *tensor.Tensor) (*Tensor, error) {
	if t == nil {
		return nil, fmt.Errorf("nn: nil tensor")
	}
	shape := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		if d < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("%w: shape %v", tensor.ErrShape, t.Shape)
		}
		shape[i] = int(d)
	}
	v, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	if len(v) != numel(shape) {
		return nil, fmt.Errorf("%w: %d elements for shape %v", tensor.ErrShape, len(v), t.Shape)
	}
	return &Tensor{Shape: shape, Data: append([]float32(nil), v...)}, nil
}

// FromFloat32 returns a contiguous float32 tensor.Tensor holding a copy of t.
func FromFloat32(t *Tensor) *tensor.Tensor {
	return toTensor(t, tensor.Float32)
}

// toTensor converts t into a new contiguous tensor.Tensor of dtype dt
// (Float32, or Int64 for counters such as num_batches_tracked).
func toTensor(t *Tensor, dt tensor.DType) *tensor.Tensor {
	shape := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int64(d)
	}
	if dt == tensor.Int64 {
		v := make([]int64, len(t.Data))
		for i, x := range t.Data {
			v[i] = int64(x)
		}
		return tensor.FromInt64(shape, v)
	}
	return tensor.FromFloat32(shape, append([]float32(nil), t.Data...))
}
