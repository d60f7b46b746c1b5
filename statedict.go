package pth

import (
	"fmt"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// StateDict is an ordered mapping from parameter/buffer names to tensors, plus
// PyTorch's per-module `_metadata` ({"": {"version": 1}, "fc1": {"version": 1}, …}).
type StateDict struct {
	Keys     []string                  // insertion order
	Tensors  map[string]*tensor.Tensor // by key
	Metadata *pickle.Dict              // nil when absent; prefix → *pickle.Dict{"version": int64}
}

// ErrNoStateDict means a file holds no recognisable state_dict.
var ErrNoStateDict = fmt.Errorf("%w: no state_dict found", ErrInvalid)

// LoadStateDict reads the state_dict held in path: a file whose root is a
// state_dict, a training checkpoint holding one under "state_dict",
// "model_state_dict" or "model", or an entire-model pickle (torch.save(model)),
// whose module tree is walked as nn.Module.state_dict() would (parameters,
// persistent buffers, children, dot-joined). The tensors are read into memory;
// nothing refers to the file afterwards.
func LoadStateDict(path string) (*StateDict, error) {
	root, err := Load(path, nil)
	if err != nil {
		return nil, err
	}
	sd, err := FindStateDict(root)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return sd, nil
}

// FindStateDict finds the state_dict in an interpreted value tree (see LoadStateDict).
func FindStateDict(root Value) (*StateDict, error) {
	if sd, ok := asStateDict(root); ok {
		return sd, nil
	}
	if d := dictOf(root); d != nil {
		for _, k := range []string{"state_dict", "model_state_dict", "model"} {
			if v, ok := d.GetString(k); ok {
				if sd, ok := asStateDict(v); ok {
					return sd, nil
				}
				if sd, ok := moduleStateDict(v); ok {
					return sd, nil
				}
			}
		}
	}
	if sd, ok := moduleStateDict(root); ok {
		return sd, nil
	}
	return nil, ErrNoStateDict
}

// dictOf returns the entries of a dict-like value.
func dictOf(v Value) *pickle.Dict {
	switch x := v.(type) {
	case *pickle.Dict:
		return x
	case *OrderedDict:
		return x.Dict
	}
	return nil
}

// tensorOf returns the tensor a state_dict entry holds.
func tensorOf(v Value) (*tensor.Tensor, bool) {
	switch x := v.(type) {
	case *tensor.Tensor:
		return x, true
	case *Parameter:
		return x.Tensor, true
	case *SubclassTensor:
		return tensorOf(x.Tensor)
	}
	return nil, false
}

// asStateDict accepts a dict or OrderedDict with string keys and tensor values.
func asStateDict(v Value) (*StateDict, bool) {
	d := dictOf(v)
	if d == nil || d.Len() == 0 {
		return nil, false
	}
	sd := &StateDict{Tensors: map[string]*tensor.Tensor{}}
	for _, e := range d.Entries {
		k, ok := e.Key.(string)
		if !ok {
			return nil, false
		}
		t, ok := tensorOf(e.Value)
		if !ok {
			return nil, false
		}
		sd.Keys = append(sd.Keys, k)
		sd.Tensors[k] = t
	}
	if od, ok := v.(*OrderedDict); ok {
		sd.Metadata = od.Metadata
	}
	return sd, true
}

// moduleStateDict walks an inert nn.Module (torch.save(model)) the way
// Module.state_dict does.
func moduleStateDict(v Value) (*StateDict, bool) {
	sd := &StateDict{Tensors: map[string]*tensor.Tensor{}}
	if !addModule(sd, v, "", 0, map[*pickle.Object]bool{}) {
		return nil, false
	}
	return sd, len(sd.Keys) > 0
}

func addModule(sd *StateDict, v Value, prefix string, depth int, seen map[*pickle.Object]bool) bool {
	o, ok := v.(*pickle.Object)
	if !ok || !o.Built || depth > 1000 || seen[o] {
		return false // a module shared in two places is listed once, as PyTorch's state_dict does
	}
	seen[o] = true
	st, ok := stateDict(o.State)
	if !ok {
		return false
	}
	params, ok1 := st.GetString("_parameters")
	mods, ok2 := st.GetString("_modules")
	if !ok1 || !ok2 {
		return false
	}
	add := func(name string, val Value) {
		if t, ok := tensorOf(val); ok {
			sd.Keys = append(sd.Keys, prefix+name)
			sd.Tensors[prefix+name] = t
		}
	}
	if d := dictOf(params); d != nil {
		for _, e := range d.Entries {
			if k, ok := e.Key.(string); ok {
				add(k, e.Value)
			}
		}
	}
	nonPersistent := map[string]bool{}
	if s, ok := st.GetString("_non_persistent_buffers_set"); ok {
		if set, ok := s.(*pickle.Set); ok {
			for _, it := range set.Items {
				if k, ok := it.(string); ok {
					nonPersistent[k] = true
				}
			}
		}
	}
	if b, ok := st.GetString("_buffers"); ok {
		if d := dictOf(b); d != nil {
			for _, e := range d.Entries {
				if k, ok := e.Key.(string); ok && !nonPersistent[k] {
					add(k, e.Value)
				}
			}
		}
	}
	if d := dictOf(mods); d != nil {
		for _, e := range d.Entries {
			k, ok := e.Key.(string)
			if !ok || e.Value == nil {
				continue
			}
			addModule(sd, e.Value, prefix+k+".", depth+1, seen)
		}
	}
	return true
}

// SaveStateDict writes sd to path exactly as torch.save(state_dict) would (zip
// format, an OrderedDict with _metadata), atomically. Files it writes load with
// torch.load(weights_only=True).
func SaveStateDict(path string, sd *StateDict) error {
	if sd == nil {
		return fmt.Errorf("save %s: %w: nil state_dict", path, ErrInvalid)
	}
	od := NewOrderedDict()
	for _, k := range sd.Keys {
		t, ok := sd.Tensors[k]
		if !ok || t == nil {
			return fmt.Errorf("save %s: %w: key %q has no tensor", path, ErrInvalid, k)
		}
		od.Set(k, t)
	}
	od.Metadata = sd.Metadata
	return Save(path, od, nil)
}

// Convert re-saves the PyTorch file in (any readable format) as out in the
// current zip format, preserving every value, storage sharing, Parameters,
// OrderedDict metadata, numpy values and inert objects. opts configure reading.
func Convert(in, out string, opts *Options) error {
	f, err := Open(in, opts)
	if err != nil {
		return err
	}
	defer f.Close()
	return Save(out, f.Root, nil)
}
