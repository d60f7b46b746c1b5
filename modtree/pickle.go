package modtree

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// ErrNotModule is returned by Parse when the value is not a pickled nn.Module.
var ErrNotModule = errors.New("modtree: not an nn.Module")

// ErrMalformed is wrapped by errors about module values whose structure PyTorch could
// not have written (a parameter that is not a tensor, _modules that is not a dict, a
// module that contains itself, …).
var ErrMalformed = errors.New("modtree: malformed module")

// maxDepth bounds the nesting of modules; real models stay far below it.
const maxDepth = 1000

// FromValue recovers the module tree of an entire-model pickle from its decoded root
// value. It reports false when root is not a module or is malformed; Parse says why.
func FromValue(root pickle.Value) (*Node, bool) {
	n, err := Parse(root)
	return n, err == nil
}

// Parse recovers the module tree from a decoded torch.save(model) value.
//
// A module is an object (NEWOBJ of its class, BUILD with its __dict__) whose state
// holds _parameters and _modules. Its class is a pickle.Global, or in the legacy stream
// the persistent id ('module', class, source_file, source) (as a pickle.PersistentID or
// the bare tuple); the source text is never looked at. Parameters and buffers may be
// *tensor.Tensor values, wrappers holding one (pth's Parameter, found through the
// AsTensor method it gets from the embedded *tensor.Tensor), raw
// torch._utils._rebuild_parameter calls over those, or raw _rebuild_tensor_v2 calls
// over a *tensor.Storage.
func Parse(root pickle.Value) (*Node, error) {
	b := &builder{onPath: map[*pickle.Object]bool{}, tensors: map[*pickle.Object]*tensor.Tensor{}}
	obj, state, ok := moduleState(root)
	if !ok {
		return nil, ErrNotModule
	}
	return b.module("", "", obj, state, 0)
}

// IsModule reports whether v looks like a pickled nn.Module.
func IsModule(v pickle.Value) bool {
	_, _, ok := moduleState(v)
	return ok
}

type builder struct {
	onPath  map[*pickle.Object]bool
	tensors map[*pickle.Object]*tensor.Tensor
}

// moduleState returns the object and its BUILD state dict when v is a module.
func moduleState(v pickle.Value) (*pickle.Object, []pickle.Entry, bool) {
	obj, ok := v.(*pickle.Object)
	if !ok || !obj.Built {
		return nil, nil, false
	}
	state, ok := dictEntries(obj.State)
	if !ok {
		return nil, nil, false
	}
	var params, mods bool
	for _, e := range state {
		switch e.Key {
		case "_parameters":
			params = true
		case "_modules":
			mods = true
		}
	}
	return obj, state, params && mods
}

func (b *builder) errorf(path, format string, args ...any) error {
	where := path
	if where == "" {
		where = "(root)"
	}
	return fmt.Errorf("module %s: %s: %w", where, fmt.Sprintf(format, args...), ErrMalformed)
}

func (b *builder) module(path, name string, obj *pickle.Object, state []pickle.Entry, depth int) (*Node, error) {
	if depth > maxDepth {
		return nil, b.errorf(path, "modules nested deeper than %d", maxDepth)
	}
	if b.onPath[obj] {
		return nil, b.errorf(path, "module contains itself")
	}
	b.onPath[obj] = true
	defer delete(b.onPath, obj)

	n := &Node{Name: name, Training: true}
	cls, ok := className(obj.Callable)
	if !ok {
		return nil, b.errorf(path, "class is %s, not a global", describe(obj.Callable))
	}
	n.Class = cls

	var params, buffers, modules []pickle.Entry
	nonPersistent := map[string]bool{}
	var version pickle.Value
	for _, e := range state {
		key, ok := e.Key.(string)
		if !ok {
			return nil, b.errorf(path, "__dict__ key %s is not a string", describe(e.Key))
		}
		switch key {
		case "training":
			t, ok := e.Value.(bool)
			if !ok {
				return nil, b.errorf(path, "training is %s, not a bool", describe(e.Value))
			}
			n.Training = t
		case "_parameters", "_buffers", "_modules":
			items, ok := dictEntries(e.Value)
			if !ok {
				return nil, b.errorf(path, "%s is %s, not a dict", key, describe(e.Value))
			}
			switch key {
			case "_parameters":
				params = items
			case "_buffers":
				buffers = items
			default:
				modules = items
			}
		case "_non_persistent_buffers_set":
			items, ok := setItems(e.Value)
			if !ok {
				return nil, b.errorf(path, "_non_persistent_buffers_set is %s, not a set", describe(e.Value))
			}
			for _, it := range items {
				if s, ok := it.(string); ok {
					nonPersistent[s] = true
				}
			}
		case "_version":
			version = e.Value
		default:
			if len(key) > 0 && key[0] != '_' {
				n.Attrs = append(n.Attrs, Attr{Name: key, Value: e.Value})
			}
		}
	}
	n.Version = classVersion(cls)
	if v, ok := version.(int64); ok {
		n.Version = v
	}

	for _, e := range params {
		t, skip, err := b.namedTensor(path, "parameter", e)
		if err != nil {
			return nil, err
		}
		if !skip {
			t.Persistent = true
			n.Parameters = append(n.Parameters, t)
		}
	}
	for _, e := range buffers {
		t, skip, err := b.namedTensor(path, "buffer", e)
		if err != nil {
			return nil, err
		}
		if !skip {
			t.Persistent = !nonPersistent[t.Name]
			n.Buffers = append(n.Buffers, t)
		}
	}
	for _, e := range modules {
		key, ok := e.Key.(string)
		if !ok {
			return nil, b.errorf(path, "_modules key %s is not a string", describe(e.Key))
		}
		if e.Value == nil {
			continue // a None sub-module: PyTorch skips it too
		}
		cobj, cstate, ok := moduleState(e.Value)
		childPath := joinKey(path, key)
		if !ok {
			return nil, b.errorf(childPath, "_modules holds %s, not a module", describe(e.Value))
		}
		c, err := b.module(childPath, key, cobj, cstate, depth+1)
		if err != nil {
			return nil, err
		}
		n.Children = append(n.Children, c)
	}
	return n, nil
}

// namedTensor interprets one _parameters/_buffers entry; skip is true for None values.
func (b *builder) namedTensor(path, what string, e pickle.Entry) (t Tensor, skip bool, err error) {
	key, ok := e.Key.(string)
	if !ok {
		return t, false, b.errorf(path, "%s name %s is not a string", what, describe(e.Key))
	}
	if e.Value == nil {
		return t, true, nil
	}
	tt, err := b.tensor(e.Value)
	if err != nil {
		return t, false, b.errorf(path, "%s %s: %v", what, key, err)
	}
	return Tensor{Name: key, Tensor: tt}, false, nil
}

// tensor finds the *tensor.Tensor a parameter or buffer value stands for.
func (b *builder) tensor(v pickle.Value) (*tensor.Tensor, error) {
	switch x := v.(type) {
	case *tensor.Tensor:
		return x, nil
	case *pickle.Object:
		if t, ok := b.tensors[x]; ok {
			return t, nil
		}
		g, _ := x.Callable.(pickle.Global)
		var t *tensor.Tensor
		var err error
		switch g {
		case pickle.Global{Module: "torch._utils", Name: "_rebuild_parameter"},
			pickle.Global{Module: "torch._utils", Name: "_rebuild_parameter_with_state"}:
			if len(x.Args) < 1 {
				return nil, fmt.Errorf("%s without arguments", g)
			}
			t, err = b.tensor(x.Args[0])
		case pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"}:
			t, err = RebuildTensor(x.Args)
		default:
			return nil, fmt.Errorf("%s is not a tensor", describe(v))
		}
		if err != nil {
			return nil, err
		}
		b.tensors[x] = t
		return t, nil
	}
	if t, ok := wrappedTensor(v); ok {
		return t, nil
	}
	return nil, fmt.Errorf("%s is not a tensor", describe(v))
}

// tensorWrapper is a value that holds a tensor: pth's Parameter, which modtree cannot
// name without an import cycle, gets AsTensor from its embedded *tensor.Tensor.
type tensorWrapper interface{ AsTensor() *tensor.Tensor }

// wrappedTensor returns the tensor a wrapper holds. The wrapper's own fields
// (Parameter.RequiresGrad, State) are not looked at: as with a raw
// _rebuild_parameter call, the node gets the tensor as it was saved.
func wrappedTensor(v pickle.Value) (t *tensor.Tensor, ok bool) {
	w, ok := v.(tensorWrapper)
	if !ok {
		return nil, false
	}
	// A nil wrapper pointer makes the promoted method dereference nil.
	defer func() {
		if recover() != nil {
			t, ok = nil, false
		}
	}()
	t = w.AsTensor()
	return t, t != nil
}

// className returns the dotted class path of a module's class value.
func className(v pickle.Value) (string, bool) {
	switch x := v.(type) {
	case pickle.Global:
		return x.String(), true
	case pickle.PersistentID:
		return className(x.ID)
	case pickle.Tuple:
		// legacy stream: ('module', class, source_file, source)
		if len(x) == 4 && x[0] == "module" {
			if g, ok := x[1].(pickle.Global); ok {
				return g.String(), true
			}
		}
	}
	return "", false
}

// dictEntries returns the entries of a dict or of an OrderedDict built by REDUCE.
func dictEntries(v pickle.Value) ([]pickle.Entry, bool) {
	switch x := v.(type) {
	case *pickle.Dict:
		return x.Entries, true
	case *pickle.Object:
		g, ok := x.Callable.(pickle.Global)
		if !ok || g != (pickle.Global{Module: "collections", Name: "OrderedDict"}) {
			return nil, false
		}
		var out []pickle.Entry
		if len(x.Args) == 1 { // OrderedDict([(k, v), …])
			var pairs []pickle.Value
			switch a := x.Args[0].(type) {
			case *pickle.List:
				pairs = a.Items
			case pickle.Tuple:
				pairs = a
			default:
				return nil, false
			}
			for _, p := range pairs {
				kv, ok := p.(pickle.Tuple)
				if !ok || len(kv) != 2 {
					return nil, false
				}
				out = append(out, pickle.Entry{Key: kv[0], Value: kv[1]})
			}
		} else if len(x.Args) > 1 {
			return nil, false
		}
		// Later SETITEMS replace earlier values of the same key in place.
		d := pickle.NewDict()
		for _, e := range out {
			d.Set(e.Key, e.Value)
		}
		for _, e := range x.Items {
			d.Set(e.Key, e.Value)
		}
		return d.Entries, true
	}
	if d, ok := wrappedDict(v); ok {
		return d.Entries, true
	}
	return nil, false
}

// dictWrapper is a value that holds a dict: pth's OrderedDict and Counter, which
// modtree cannot name without an import cycle, get AsDict from their embedded
// *pickle.Dict.
type dictWrapper interface{ AsDict() *pickle.Dict }

// wrappedDict returns the dict a wrapper holds.
func wrappedDict(v pickle.Value) (d *pickle.Dict, ok bool) {
	w, ok := v.(dictWrapper)
	if !ok {
		return nil, false
	}
	// A nil wrapper pointer makes the promoted method dereference nil.
	defer func() {
		if recover() != nil {
			d, ok = nil, false
		}
	}()
	d = w.AsDict()
	return d, d != nil
}

// setItems returns the members of a set, whether decoded as a set or as set(list).
func setItems(v pickle.Value) ([]pickle.Value, bool) {
	switch x := v.(type) {
	case *pickle.Set:
		return x.Items, true
	case *pickle.List:
		return x.Items, true
	case *pickle.Object:
		g, ok := x.Callable.(pickle.Global)
		if !ok || (g.Module != "builtins" && g.Module != "__builtin__") || (g.Name != "set" && g.Name != "frozenset") {
			return nil, false
		}
		if len(x.Args) == 0 {
			return nil, true
		}
		switch a := x.Args[0].(type) {
		case *pickle.List:
			return a.Items, true
		case pickle.Tuple:
			return a, true
		}
	}
	return nil, false
}

// describe names a value's kind for error messages without dumping it.
func describe(v pickle.Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int64, *big.Int:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a str"
	case []byte:
		return "bytes"
	case pickle.Tuple:
		return "a tuple"
	case *pickle.List:
		return "a list"
	case *pickle.Dict:
		return "a dict"
	case *pickle.Set:
		return "a set"
	case pickle.Global:
		return "the global " + x.String()
	case *pickle.Object:
		if g, ok := x.Callable.(pickle.Global); ok {
			return "an object of " + g.String()
		}
		return "an object"
	case pickle.PersistentID:
		return "a persistent id"
	case *tensor.Tensor:
		return "a tensor"
	}
	return fmt.Sprintf("a %T", v)
}
