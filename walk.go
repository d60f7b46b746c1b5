package pth

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// ErrStopWalk may be returned by a Walk callback to end the walk early; Walk then
// returns nil.
var ErrStopWalk = errors.New("pth: stop walk")

// Walk calls fn for every leaf of the value tree root, in order. Containers —
// dicts, OrderedDicts, Counters, lists and tuples — are descended into; every
// other value (tensors, Parameters, numbers, strings, sets, torch.Size, numpy
// values, inert objects, …) is a leaf. A leaf's path joins the dict keys and list
// indices leading to it with "/" ("model_state_dict/fc1.weight",
// "optimizer_state_dict/state/0/exp_avg"); a root leaf has path "". Returning a
// non-nil error stops the walk and Walk returns it (nil for ErrStopWalk).
//
// Shared containers are visited once per path that reaches them; a walk that
// would visit more than MaxWalkNodes values (a hostile file can describe an
// exponentially large tree with shared tuples) fails with pickle.ErrLimit.
func Walk(root Value, fn func(path string, v Value) error) error {
	budget := MaxWalkNodes
	err := walk(root, "", fn, map[any]bool{}, 0, &budget)
	if errors.Is(err, ErrStopWalk) {
		return nil
	}
	return err
}

func joinPath(path string, key any) string {
	var k string
	switch x := key.(type) {
	case string:
		k = x
	case int64:
		k = fmt.Sprint(x)
	case int:
		k = fmt.Sprint(x)
	case *big.Int:
		k = x.String()
	case bool:
		if x {
			k = "True"
		} else {
			k = "False"
		}
	default:
		k = fmt.Sprint(x)
	}
	if path == "" {
		return k
	}
	return path + "/" + k
}

// MaxWalkNodes bounds the number of values one Walk visits.
const MaxWalkNodes = 1 << 22

func walk(v Value, path string, fn func(string, Value) error, busy map[any]bool, depth int, budget *int) error {
	if depth > maxInterpDepth {
		return errorf(pickle.ErrLimit, "values nested deeper than %d", maxInterpDepth)
	}
	if *budget--; *budget < 0 {
		return errorf(pickle.ErrLimit, "more than %d values to walk", MaxWalkNodes)
	}
	var entries []pickle.Entry
	var items []Value
	var ptr any
	switch x := v.(type) {
	case *pickle.Dict:
		entries, ptr = x.Entries, x
	case *OrderedDict:
		entries, ptr = x.Entries, x
	case *Counter:
		entries, ptr = x.Entries, x
	case *pickle.List:
		items, ptr = x.Items, x
	case pickle.Tuple:
		items = x
	default:
		return fn(path, v)
	}
	if ptr != nil {
		if busy[ptr] { // a container inside itself: report it as a leaf
			return fn(path, v)
		}
		busy[ptr] = true
		defer delete(busy, ptr)
	}
	for _, e := range entries {
		if err := walk(e.Value, joinPath(path, e.Key), fn, busy, depth+1, budget); err != nil {
			return err
		}
	}
	for i, e := range items {
		if err := walk(e, joinPath(path, int64(i)), fn, busy, depth+1, budget); err != nil {
			return err
		}
	}
	return nil
}

// NamedTensor is a tensor found in a value tree, with its Walk path.
type NamedTensor struct {
	Path string
	T    *tensor.Tensor
	// Parameter is set when the tensor is an nn.Parameter.
	Parameter bool
}

// Tensors lists the tensors of the value tree root in Walk order: plain tensors,
// Parameters (Parameter set, T is the data with the parameter's requires_grad),
// tensor subclasses, and the components of sparse tensors (paths "p#indices",
// "p#values" for COO, "p#crow_indices", "p#col_indices", "p#values" for CSR, …,
// after PyTorch's accessor names). Meta tensors have no data and are
// not listed.
func Tensors(root Value) []NamedTensor {
	// A state_dict holds a tensor per entry: start with room for them.
	var out []NamedTensor
	switch x := root.(type) {
	case *pickle.Dict:
		out = make([]NamedTensor, 0, len(x.Entries))
	case *OrderedDict:
		out = make([]NamedTensor, 0, len(x.Entries))
	}
	_ = Walk(root, func(path string, v Value) error {
		out = appendTensors(out, path, v)
		return nil
	})
	return out
}

func appendTensors(out []NamedTensor, path string, v Value) []NamedTensor {
	switch x := v.(type) {
	case *tensor.Tensor:
		out = append(out, NamedTensor{Path: path, T: x})
	case *Parameter:
		t := *x.Tensor
		t.RequiresGrad = x.RequiresGrad
		out = append(out, NamedTensor{Path: path, T: &t, Parameter: true})
	case *SubclassTensor:
		out = appendTensors(out, path, x.Tensor)
	case *SparseTensor:
		if x.Indices != nil {
			out = append(out, NamedTensor{Path: path + "#indices", T: x.Indices})
			out = append(out, NamedTensor{Path: path + "#values", T: x.Values})
		} else {
			for i, c := range x.Components {
				out = append(out, NamedTensor{Path: path + "#" + x.ComponentName(i), T: c})
			}
		}
	}
	return out
}
