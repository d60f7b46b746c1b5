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
//
// The metadata, which PyTorch 2.x (torch.save and TorchScript's pickler) writes
// for a conjugate or negative view, is a dict whose keys "conj" and "neg" set the
// tensor's Conj and Neg bits (a key sets its bit whatever its value, as PyTorch
// 2.6 reads it; None or {} sets none). Other keys are refused with an error
// naming the key that wraps ErrTensor and errors.ErrUnsupported; a bit the dtype
// cannot carry (conj on a real tensor) with one that wraps tensor.ErrDType.
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
	if len(args) > 6 {
		if err := setMetadata(t, args[6]); err != nil {
			return nil, err
		}
	}
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

// setMetadata applies _rebuild_tensor_v2's metadata argument to t.
func setMetadata(t *tensor.Tensor, md pickle.Value) error {
	if md == nil {
		return nil
	}
	d, ok := md.(*pickle.Dict)
	if !ok {
		return fmt.Errorf("_rebuild_tensor_v2 metadata is %s, not a dict: %w", describe(md), ErrTensor)
	}
	for _, e := range d.Entries {
		switch e.Key {
		case "conj":
			t.Conj = true
		case "neg":
			t.Neg = true
		default:
			return fmt.Errorf("_rebuild_tensor_v2 metadata key %s (PyTorch writes only 'conj' and 'neg'): %w: %w",
				pickle.Sprint(e.Key), ErrTensor, errors.ErrUnsupported)
		}
	}
	return nil
}
