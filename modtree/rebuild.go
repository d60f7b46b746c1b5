package modtree

import (
	"errors"
	"fmt"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// ErrTensor is wrapped by errors about a tensor that does not fit its storage or whose
// rebuild arguments are not what PyTorch writes.
var ErrTensor = errors.New("modtree: bad tensor")

// RebuildTensor interprets the arguments of torch._utils._rebuild_tensor_v2
// (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
// whose storage has already been resolved to a *tensor.Storage, checking with
// tensor.Validate that the view lies inside the storage (errors wrap tensor.ErrBounds,
// tensor.ErrShape, or ErrTensor for arguments of the wrong kind).
func RebuildTensor(args pickle.Tuple) (*tensor.Tensor, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments: %w", len(args), ErrTensor)
	}
	st, ok := args[0].(*tensor.Storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2 storage is %s: %w", describe(args[0]), ErrTensor)
	}
	off, ok := args[1].(int64)
	if !ok || off < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 storage offset is %s: %w", describe(args[1]), ErrTensor)
	}
	shape, err := int64s(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 size: %v: %w", err, ErrTensor)
	}
	strides, err := int64s(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 stride: %v: %w", err, ErrTensor)
	}
	if len(shape) != len(strides) {
		return nil, fmt.Errorf("_rebuild_tensor_v2 size has %d dimensions, stride %d: %w", len(shape), len(strides), ErrTensor)
	}
	rg := false
	if len(args) > 4 {
		rg, _ = args[4].(bool)
	}
	t := &tensor.Tensor{Storage: st, DType: st.DType, Shape: shape, Strides: strides, Offset: off, RequiresGrad: rg}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %w", err)
	}
	return t, nil
}

// int64s converts a tuple or list of ints.
func int64s(v pickle.Value) ([]int64, error) {
	var items []pickle.Value
	switch x := v.(type) {
	case pickle.Tuple:
		items = x
	case *pickle.List:
		items = x.Items
	default:
		return nil, fmt.Errorf("%s, not a tuple of ints", describe(v))
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, ok := it.(int64)
		if !ok {
			return nil, fmt.Errorf("item %d is %s, not an int", i, describe(it))
		}
		out[i] = n
	}
	return out, nil
}
