package pth

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Lowering turns an interpreted tree back into plain pickle values, the way
// PyTorch's __reduce_ex__ methods do: tensors become _rebuild_tensor_v2 calls
// whose storages are persistent ids, Parameters _rebuild_parameter calls, and so
// on. Shared values stay shared (one lowered value per source pointer, which the
// encoder's memo then writes once), and storages get keys "0", "1", … in the
// order the pickler meets them.

type lowerer struct {
	keys  map[*tensor.Storage]string
	order []*tensor.Storage
	memo  map[any]pickle.Value
	depth int
}

func newLowerer() *lowerer {
	return &lowerer{keys: map[*tensor.Storage]string{}, memo: map[any]pickle.Value{}}
}

var (
	gOrderedDict   = pickle.Global{Module: "collections", Name: "OrderedDict"}
	gRebuildV2     = pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"}
	gRebuildV3     = pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v3"}
	gRebuildParam  = pickle.Global{Module: "torch._utils", Name: "_rebuild_parameter"}
	gRebuildParamS = pickle.Global{Module: "torch._utils", Name: "_rebuild_parameter_with_state"}
	gRebuildQ      = pickle.Global{Module: "torch._utils", Name: "_rebuild_qtensor"}
	gRebuildSparse = pickle.Global{Module: "torch._utils", Name: "_rebuild_sparse_tensor"}
	gRebuildMeta   = pickle.Global{Module: "torch._utils", Name: "_rebuild_meta_tensor_no_storage"}
	gFromTypeV2    = pickle.Global{Module: "torch._tensor", Name: "_rebuild_from_type_v2"}
	gUntyped       = pickle.Global{Module: "torch.storage", Name: "UntypedStorage"}
)

func reduce(g pickle.Global, args ...pickle.Value) *pickle.Object {
	if args == nil {
		args = pickle.Tuple{}
	}
	return &pickle.Object{Kind: pickle.Reduce, Callable: g, Args: pickle.Tuple(args)}
}

func intsTuple(v []int64) pickle.Tuple {
	t := make(pickle.Tuple, len(v))
	for i, x := range v {
		t[i] = x
	}
	return t
}

// emptyOrderedDict is the OrderedDict() PyTorch passes as backward_hooks. A new
// one per tensor, as PyTorch makes.
func emptyOrderedDict() *pickle.Object { return reduce(gOrderedDict) }

// storagePIDValue returns the persistent id of a storage, assigning its key.
func (lw *lowerer) storagePIDValue(s *tensor.Storage, untyped bool) (pickle.Value, error) {
	if s == nil {
		return nil, errorf(ErrInvalid, "tensor without storage")
	}
	key, ok := lw.keys[s]
	if !ok {
		key = strconv.Itoa(len(lw.order))
		lw.keys[s] = key
		lw.order = append(lw.order, s)
	}
	loc := s.Location
	if loc == "" {
		loc = "cpu"
	}
	if untyped {
		return pickle.PersistentID{ID: pickle.Tuple{"storage", gUntyped, key, loc, s.NBytes}}, nil
	}
	cls := s.DType.StorageClass()
	es := int64(s.DType.Size())
	if cls == "" || es <= 0 {
		return nil, errorf(ErrUnsupported, "dtype %v has no storage class", s.DType)
	}
	return pickle.PersistentID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: cls}, key, loc, s.NBytes / es}}, nil
}

// tensorReduce lowers a dense (or quantized) tensor with the given requires_grad.
func (lw *lowerer) tensorReduce(t *tensor.Tensor, rg bool) (*pickle.Object, error) {
	if t.Storage == nil {
		return nil, errorf(ErrInvalid, "tensor without storage")
	}
	untyped := t.Storage.DType.StorageClass() == ""
	pid, err := lw.storagePIDValue(t.Storage, untyped)
	if err != nil {
		return nil, err
	}
	shape, stride := intsTuple(t.Shape), intsTuple(t.Strides)
	md, err := tensorMetadata(t)
	if err != nil {
		return nil, err
	}
	if q := t.Quant; q != nil { // quantized dtypes have neither bit (tensor.Validate)
		var qp pickle.Tuple
		scheme := pickle.Global{Module: "torch", Name: q.Scheme}
		switch q.Scheme {
		case "per_tensor_affine", "per_tensor_symmetric":
			qp = pickle.Tuple{scheme, q.Scale, q.ZeroPoint}
		default:
			sc, err := lw.value(q.Scales)
			if err != nil {
				return nil, err
			}
			zp, err := lw.value(q.ZeroPoints)
			if err != nil {
				return nil, err
			}
			qp = pickle.Tuple{scheme, sc, zp, int64(q.Axis)}
		}
		return reduce(gRebuildQ, pid, t.Offset, shape, stride, qp, rg, emptyOrderedDict()), nil
	}
	args := pickle.Tuple{pid, t.Offset, shape, stride, rg, emptyOrderedDict()}
	g := gRebuildV2
	if untyped {
		g = gRebuildV3
		args = append(args, pickle.Global{Module: "torch", Name: t.DType.String()})
	}
	if md != nil {
		args = append(args, md)
	}
	return reduce(g, args...), nil
}

// tensorMetadata returns the metadata argument PyTorch 2.x's
// Tensor.__reduce_ex__ appends for a conjugate or negative view
// (torch._utils.get_tensor_metadata), or nil when t has neither bit. With both
// bits PyTorch 2.6 gives {'neg': True, 'conj': True}, in that order. The bits
// are checked against the dtype (tensor.Validate) so that no file is written
// that PyTorch would refuse.
func tensorMetadata(t *tensor.Tensor) (*pickle.Dict, error) {
	if !t.HasConjNeg() {
		return nil, nil
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	md := pickle.NewDict()
	if t.Neg {
		md.Set("neg", true)
	}
	if t.Conj {
		md.Set("conj", true)
	}
	return md, nil
}

// value lowers v.
func (lw *lowerer) value(v Value) (pickle.Value, error) {
	lw.depth++
	defer func() { lw.depth-- }()
	if lw.depth > maxInterpDepth {
		return nil, errorf(pickle.ErrLimit, "values nested deeper than %d", maxInterpDepth)
	}
	switch x := v.(type) {
	case nil, bool, int64, *big.Int, float64, string, []byte, pickle.ByteArray, pickle.Global, pickle.PersistentID:
		return v, nil
	case int:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case pickle.Tuple:
		k, shared := tupleKey(x)
		if shared {
			if r, ok := lw.memo[k]; ok {
				return r, nil
			}
		}
		out := make(pickle.Tuple, len(x))
		for i, e := range x {
			lv, err := lw.value(e)
			if err != nil {
				return nil, err
			}
			out[i] = lv
		}
		if shared {
			lw.memo[k] = out
		}
		return out, nil
	case DType:
		return pickle.Global{Module: "torch", Name: string(x)}, nil
	case Size:
		return reduce(pickle.Global{Module: "torch", Name: "Size"}, intsTuple(x)), nil
	case Device:
		if x.Index >= 0 {
			return reduce(pickle.Global{Module: "torch", Name: "device"}, x.Type, x.Index), nil
		}
		return reduce(pickle.Global{Module: "torch", Name: "device"}, x.Type), nil
	case complex128:
		return reduce(pickle.Global{Module: "builtins", Name: "complex"}, real(x), imag(x)), nil
	}
	switch v.(type) {
	case *pickle.List, *pickle.Dict, *pickle.Set, *pickle.Object, *OrderedDict, *Counter, *tensor.Storage,
		*tensor.Tensor, *Parameter, *SparseTensor, *MetaTensor, *SubclassTensor, *NDArray, *NumpyScalar, *NumpyDType:
		if r, ok := lw.memo[v]; ok {
			return r, nil
		}
	default:
		return nil, errorf(ErrUnsupported, "cannot save a value of Go type %T", v)
	}
	switch x := v.(type) {
	case *pickle.List:
		out := &pickle.List{Items: make([]pickle.Value, len(x.Items))}
		lw.memo[v] = out
		for i, e := range x.Items {
			lv, err := lw.value(e)
			if err != nil {
				return nil, err
			}
			out.Items[i] = lv
		}
		return out, nil
	case *pickle.Dict:
		out := pickle.NewDict()
		lw.memo[v] = out
		if err := lw.entries(x.Entries, func(k, v pickle.Value) { out.Set(k, v) }); err != nil {
			return nil, err
		}
		return out, nil
	case *pickle.Set:
		out := &pickle.Set{Frozen: x.Frozen, Items: make([]pickle.Value, len(x.Items))}
		lw.memo[v] = out
		for i, e := range x.Items {
			lv, err := lw.value(e)
			if err != nil {
				return nil, err
			}
			out.Items[i] = lv
		}
		return out, nil
	case *OrderedDict:
		out := reduce(gOrderedDict)
		lw.memo[v] = out
		if err := lw.entries(x.Entries, func(k, v pickle.Value) {
			out.Items = append(out.Items, pickle.Entry{Key: k, Value: v})
		}); err != nil {
			return nil, err
		}
		if x.Metadata != nil || (x.Attrs != nil && x.Attrs.Len() > 0) {
			st := pickle.NewDict()
			if x.Attrs != nil {
				for _, e := range x.Attrs.Entries {
					lv, err := lw.value(e.Value)
					if err != nil {
						return nil, err
					}
					st.Set(e.Key, lv)
				}
			}
			if x.Metadata != nil {
				var md pickle.Value
				var err error
				if x.metadataPlain {
					md, err = lw.value(x.Metadata)
				} else {
					md, err = lw.value(&OrderedDict{Dict: x.Metadata})
				}
				if err != nil {
					return nil, err
				}
				st.Set("_metadata", md)
			}
			out.State, out.Built = st, true
		}
		return out, nil
	case *Counter:
		d := pickle.NewDict()
		out := reduce(pickle.Global{Module: "collections", Name: "Counter"}, d)
		lw.memo[v] = out
		if err := lw.entries(x.Entries, func(k, v pickle.Value) { d.Set(k, v) }); err != nil {
			return nil, err
		}
		return out, nil
	case *tensor.Storage:
		pid, err := lw.storagePIDValue(x, x.DType.StorageClass() == "")
		lw.memo[v] = pid
		return pid, err
	case *tensor.Tensor:
		out, err := lw.tensorReduce(x, x.RequiresGrad)
		lw.memo[v] = out
		return out, err
	case *Parameter:
		if x.Tensor == nil {
			return nil, errorf(ErrInvalid, "Parameter without data")
		}
		data, err := lw.tensorReduce(x.Tensor, false)
		if err != nil {
			return nil, err
		}
		var out *pickle.Object
		if x.State != nil {
			st, err := lw.value(x.State)
			if err != nil {
				return nil, err
			}
			out = reduce(gRebuildParamS, data, x.RequiresGrad, emptyOrderedDict(), st)
		} else {
			out = reduce(gRebuildParam, data, x.RequiresGrad, emptyOrderedDict())
		}
		lw.memo[v] = out
		return out, nil
	case *SparseTensor:
		parts := pickle.Tuple{}
		for _, c := range x.Components {
			lv, err := lw.value(c)
			if err != nil {
				return nil, err
			}
			parts = append(parts, lv)
		}
		parts = append(parts, reduce(pickle.Global{Module: "torch", Name: "Size"}, intsTuple(x.Size)))
		for _, e := range x.Extra {
			lv, err := lw.value(e)
			if err != nil {
				return nil, err
			}
			parts = append(parts, lv)
		}
		fn := gRebuildSparse
		if x.rebuild != "" {
			fn = pickle.Global{Module: "torch._utils", Name: x.rebuild}
		}
		layout := reduce(pickle.Global{Module: "torch.serialization", Name: "_get_layout"}, x.Layout)
		out := reduce(fn, layout, parts)
		lw.memo[v] = out
		return out, nil
	case *MetaTensor:
		out := reduce(gRebuildMeta, pickle.Global{Module: "torch", Name: string(x.DType)},
			intsTuple(x.Shape), intsTuple(x.Strides), x.RequiresGrad)
		lw.memo[v] = out
		return out, nil
	case *SubclassTensor:
		inner, err := lw.value(x.Tensor)
		if err != nil {
			return nil, err
		}
		io, ok := inner.(*pickle.Object)
		if !ok {
			return nil, errorf(ErrInvalid, "subclass tensor of %T", x.Tensor)
		}
		st, err := lw.value(x.State)
		if err != nil {
			return nil, err
		}
		out := reduce(gFromTypeV2, io.Callable, x.Type, io.Args, st)
		lw.memo[v] = out
		return out, nil
	case *NDArray:
		if x.Raw != nil {
			return lw.value(x.Raw)
		}
		return lw.value(x.build())
	case *NumpyScalar:
		if x.Raw != nil {
			return lw.value(x.Raw)
		}
		return nil, errorf(ErrUnsupported, "numpy scalar without its decoded form")
	case *NumpyDType:
		if x.Raw != nil {
			return lw.value(x.Raw)
		}
		return lw.value(numpyDTypeObject(x.DType))
	case *pickle.Object:
		out := &pickle.Object{Kind: x.Kind, Built: x.Built}
		lw.memo[v] = out
		var err error
		if out.Callable, err = lw.value(x.Callable); err != nil {
			return nil, err
		}
		if x.Args != nil {
			a, err := lw.value(x.Args)
			if err != nil {
				return nil, err
			}
			out.Args = a.(pickle.Tuple)
		}
		if x.Kwargs != nil {
			out.Kwargs = pickle.NewDict()
			if err := lw.entries(x.Kwargs.Entries, func(k, v pickle.Value) { out.Kwargs.Set(k, v) }); err != nil {
				return nil, err
			}
		}
		for _, a := range x.Appended {
			lv, err := lw.value(a)
			if err != nil {
				return nil, err
			}
			out.Appended = append(out.Appended, lv)
		}
		if err := lw.entries(x.Items, func(k, v pickle.Value) {
			out.Items = append(out.Items, pickle.Entry{Key: k, Value: v})
		}); err != nil {
			return nil, err
		}
		if x.Built {
			if out.State, err = lw.value(x.State); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, errorf(ErrUnsupported, "cannot save a value of Go type %T", v)
}

func (lw *lowerer) entries(es []pickle.Entry, set func(k, v pickle.Value)) error {
	for _, e := range es {
		k, err := lw.value(e.Key)
		if err != nil {
			return err
		}
		v, err := lw.value(e.Value)
		if err != nil {
			return &keyError{key: keyName(e.Key), err: err}
		}
		set(k, v)
	}
	return nil
}

// numpyDTypeObject builds numpy.dtype(code, False, True) with its BUILD state
// from a type string such as "<f8".
func numpyDTypeObject(s string) *pickle.Object {
	order, code := "|", s
	if len(s) > 1 && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=') {
		order, code = s[:1], s[1:]
	}
	o := reduce(pickle.Global{Module: "numpy", Name: "dtype"}, code, false, true)
	o.Built = true
	o.State = pickle.Tuple{int64(3), order, nil, nil, nil, int64(-1), int64(-1), int64(0)}
	return o
}

// build makes the pickled form of an array created in Go (Raw nil).
func (a *NDArray) build() *pickle.Object {
	o := reduce(pickle.Global{Module: "numpy.core.multiarray", Name: "_reconstruct"},
		pickle.Global{Module: "numpy", Name: "ndarray"}, pickle.Tuple{int64(0)}, []byte("b"))
	var data pickle.Value = a.Data
	if a.Objects != nil {
		data = &pickle.List{Items: a.Objects}
	}
	o.Built = true
	o.State = pickle.Tuple{int64(1), intsTuple(a.Shape), numpyDTypeObject(a.DType), a.Fortran, data}
	return o
}
