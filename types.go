package pth

import (
	"fmt"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Value is any value of an interpreted tree. Besides the dynamic types of
// pickle.Value it may be one of the types this package defines: *tensor.Tensor,
// *tensor.Storage, *Parameter, *OrderedDict, *Counter, Size, Device, DType,
// complex128, *SparseTensor, *MetaTensor, *SubclassTensor, *NDArray,
// *NumpyScalar and *NumpyDType. Calls and objects this package does not
// interpret stay inert *pickle.Object values whose children are interpreted.
type Value = pickle.Value

// Parameter is a torch.nn.Parameter: a tensor marked as a module parameter.
type Parameter struct {
	*tensor.Tensor
	// RequiresGrad is the parameter's requires_grad flag (the wrapped tensor's own
	// flag is false, as PyTorch saves it).
	RequiresGrad bool
	// State is the parameter's Python __dict__ when it was saved with
	// _rebuild_parameter_with_state; nil otherwise.
	State Value
}

// OrderedDict is a collections.OrderedDict: ordered entries plus the attributes
// PyTorch attaches to state_dicts, notably _metadata.
type OrderedDict struct {
	*pickle.Dict
	// Metadata is the _metadata attribute of a state_dict: module prefix →
	// {"version": int64}. Nil when absent.
	Metadata *pickle.Dict
	// Attrs holds the other attributes set through BUILD (rare); nil when none.
	Attrs *pickle.Dict

	// metadataPlain records that _metadata was a plain dict in the file (PyTorch
	// writes an OrderedDict, which Save writes unless the file said otherwise).
	metadataPlain bool
}

// NewOrderedDict returns an empty OrderedDict.
func NewOrderedDict() *OrderedDict { return &OrderedDict{Dict: pickle.NewDict()} }

// Counter is a collections.Counter.
type Counter struct {
	*pickle.Dict
}

// Size is a torch.Size.
type Size []int64

// Device is a torch.device. Index is -1 when the device has no index.
type Device struct {
	Type  string
	Index int64
}

// DType is a torch dtype referenced as a value (torch.float16 …), by PyTorch's
// name without the "torch." prefix.
type DType string

// TensorDType returns the tensor package's dtype for d, if it has one.
func (d DType) TensorDType() (tensor.DType, bool) { return tensor.ParseTorchName(string(d)) }

// SparseTensor is a sparse tensor rebuilt by torch._utils._rebuild_sparse_tensor.
type SparseTensor struct {
	// Layout is the layout's name, e.g. "torch.sparse_coo".
	Layout string
	// Indices and Values are the COO components (Indices is nil for compressed layouts).
	Indices, Values *tensor.Tensor
	// Components are every tensor of the saved representation, in order: (indices,
	// values) for COO, (compressed indices, plain indices, values) for CSR/CSC/BSR/BSC.
	Components []*tensor.Tensor
	// Size is the dense shape.
	Size []int64
	// Extra holds saved items after the size (e.g. is_coalesced in PyTorch ≥ 2.1).
	Extra []Value

	rebuild string // the torch._utils function it was read with, written back the same
}

// MetaTensor is a tensor on the "meta" device: a shape and dtype without data
// (torch._utils._rebuild_meta_tensor_no_storage).
type MetaTensor struct {
	DType        DType
	Shape        []int64
	Strides      []int64
	RequiresGrad bool
}

// SubclassTensor is a tensor saved through torch._tensor._rebuild_from_type_v2:
// a tensor subclass, or a torch.Tensor carrying Python attributes.
type SubclassTensor struct {
	// Tensor is the rebuilt tensor (or *Parameter, *SparseTensor …).
	Tensor Value
	// Type is the Python class (torch.Tensor, or a subclass by reference).
	Type pickle.Global
	// Func is the rebuild function the tensor itself was saved with.
	Func pickle.Global
	// State is the saved Python state (usually a dict of attributes).
	State Value
}

// NDArray is a numpy.ndarray rebuilt from numpy.core.multiarray._reconstruct and
// its BUILD state. Data holds the raw element bytes in DType's byte order, in C
// order unless Fortran is set. Arrays of Python objects (dtype "O") keep their
// elements in Objects instead of Data.
type NDArray struct {
	// DType is numpy's type string, e.g. "<f4", "|b1", "<U5", "|O".
	DType   string
	Shape   []int64
	Fortran bool
	Data    []byte
	Objects []Value
	// Raw is the object as decoded; it is written back unchanged.
	Raw *pickle.Object
}

// NumpyScalar is a numpy scalar (numpy.core.multiarray.scalar(dtype, bytes)).
type NumpyScalar struct {
	DType string // numpy's type string, e.g. "<f8"
	Data  []byte
	// Raw is the object as decoded; it is written back unchanged.
	Raw *pickle.Object
}

// NumpyDType is a numpy.dtype object standing on its own.
type NumpyDType struct {
	DType string // numpy's type string, e.g. "<f8"
	// Raw is the object as decoded; it is written back unchanged.
	Raw *pickle.Object
}

// ComponentName returns PyTorch's accessor name for Components[i]: "indices",
// "values" for COO; "crow_indices", "col_indices", "values" for CSR and BSR;
// "ccol_indices", "row_indices", "values" for CSC and BSC.
func (s *SparseTensor) ComponentName(i int) string {
	var names []string
	switch s.Layout {
	case "torch.sparse_coo":
		names = []string{"indices", "values"}
	case "torch.sparse_csc", "torch.sparse_bsc":
		names = []string{"ccol_indices", "row_indices", "values"}
	default:
		names = []string{"crow_indices", "col_indices", "values"}
	}
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprint(i)
}
