package nn

import (
	"fmt"
	"strings"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// StateDict returns the module's state_dict as PyTorch's module.state_dict()
// builds it: for each module depth first, its non-nil parameters then its
// persistent non-nil buffers in registration order, keyed by dotted path, and
// _metadata mapping each module's prefix to {"version": _version}. The tensors
// are copies (float32, num_batches_tracked int64); a tensor registered under
// several names shares one storage, as in PyTorch.
func (b *ModuleBase) StateDict() *pth.StateDict {
	sd := &pth.StateDict{Tensors: map[string]*tensor.Tensor{}, Metadata: pickle.NewDict()}
	conv := map[*Tensor]*tensor.Tensor{}
	var walk func(mb *ModuleBase, prefix string)
	walk = func(mb *ModuleBase, prefix string) {
		meta := pickle.NewDict()
		meta.Set("version", mb.Version())
		sd.Metadata.Set(strings.TrimSuffix(prefix, "."), meta)
		add := func(s *slot) {
			if s.t == nil {
				return
			}
			key := prefix + s.name
			tt, ok := conv[s.t]
			if !ok || tt.DType != s.dtype {
				tt = toTensor(s.t, s.dtype)
				conv[s.t] = tt
			}
			if _, dup := sd.Tensors[key]; !dup {
				sd.Keys = append(sd.Keys, key)
			}
			sd.Tensors[key] = tt
		}
		for _, s := range mb.params {
			add(s)
		}
		for _, s := range mb.buffers {
			if s.persistent {
				add(s)
			}
		}
		for _, c := range mb.children {
			if c.m != nil {
				walk(c.m.Module(), prefix+c.name+".")
			}
		}
	}
	walk(b, "")
	return sd
}

// LoadError is load_state_dict's RuntimeError: every missing and unexpected key
// (reported in strict mode) and every other problem (size mismatches, dtype
// failures, reported in both modes), in PyTorch's order and words.
type LoadError struct {
	Class      string   // the root module's class name
	Missing    []string // keys the module has and the state_dict lacks (strict only)
	Unexpected []string // keys the state_dict has and the module lacks (strict only)
	Problems   []string // "size mismatch for fc1.weight: …" and copy failures
}

// Error returns the message PyTorch raises, e.g.
// "Error(s) in loading state_dict for SimpleNet:\n\tMissing key(s) in state_dict: \"fc3.weight\". ".
func (e *LoadError) Error() string {
	var msgs []string
	if len(e.Missing) > 0 {
		msgs = append(msgs, "Missing key(s) in state_dict: "+quoteKeys(e.Missing)+". ")
	}
	if len(e.Unexpected) > 0 {
		msgs = append(msgs, "Unexpected key(s) in state_dict: "+quoteKeys(e.Unexpected)+". ")
	}
	msgs = append(msgs, e.Problems...)
	return fmt.Sprintf("Error(s) in loading state_dict for %s:\n\t%s", e.Class, strings.Join(msgs, "\n\t"))
}

func quoteKeys(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = `"` + k + `"`
	}
	return strings.Join(q, ", ")
}

// localState is the ordered (keys, tensors) view one module's load step sees:
// the entries of its parent's view that start with its prefix.
type localState struct {
	keys    []string
	tensors map[string]*tensor.Tensor
}

// preLoader is implemented by modules that adjust the state_dict before
// loading, as _load_from_state_dict overrides do (BatchNorm fills in
// num_batches_tracked for checkpoints older than version 2).
type preLoader interface {
	preLoad(st *localState, prefix string, version int64, hasVersion bool)
}

// LoadStateDict copies the tensors of sd into the module's parameters and
// persistent buffers, as module.load_state_dict(sd, strict) does, and returns
// the missing and unexpected keys. Values are cast to the module's dtype.
//
// A size mismatch or a tensor that cannot be cast is an error in both modes
// (PyTorch raises for it too); in strict mode any missing or unexpected key is
// an error as well. The error is a *LoadError listing all of them. Entries
// with no problem are loaded even when an error is returned in non-strict mode
// (a strict error is returned after loading what matched, as PyTorch does).
func (b *ModuleBase) LoadStateDict(sd *pth.StateDict, strict bool) (missing, unexpected []string, err error) {
	if sd == nil {
		sd = &pth.StateDict{}
	}
	var problems []string
	var load func(m Module, st *localState, prefix string)
	load = func(m Module, st *localState, prefix string) {
		mb := m.Module()
		version, hasVersion := metaVersion(sd.Metadata, strings.TrimSuffix(prefix, "."))
		if pl, ok := m.(preLoader); ok {
			pl.preLoad(st, prefix, version, hasVersion)
		}
		local := map[string]bool{}
		slots := make([]*slot, 0, len(mb.params)+len(mb.buffers))
		for _, s := range mb.params {
			if s.t != nil {
				slots = append(slots, s)
			}
		}
		for _, s := range mb.buffers {
			if s.t != nil && s.persistent {
				slots = append(slots, s)
			}
		}
		for _, s := range slots {
			local[s.name] = true
			key := prefix + s.name
			in, ok := st.tensors[key]
			if !ok {
				missing = append(missing, key)
				continue
			}
			if msg := copyInto(s, key, in); msg != "" {
				problems = append(problems, msg)
			}
		}
		childNames := map[string]bool{}
		for _, c := range mb.children {
			childNames[c.name] = true
		}
		// No Go module keeps extra state, so a "_extra_state" entry is unexpected
		// (reported before the other keys, as PyTorch does).
		extra := prefix + "_extra_state"
		if _, ok := st.tensors[extra]; ok {
			unexpected = append(unexpected, extra)
		}
		for _, key := range st.keys {
			if !strings.HasPrefix(key, prefix) || key == extra {
				continue
			}
			name, _, _ := strings.Cut(key[len(prefix):], ".")
			if !childNames[name] && !local[name] {
				unexpected = append(unexpected, key)
			}
		}
		for _, c := range mb.children {
			if c.m == nil {
				continue
			}
			cp := prefix + c.name + "."
			sub := &localState{tensors: map[string]*tensor.Tensor{}}
			for _, k := range st.keys {
				if strings.HasPrefix(k, cp) {
					sub.keys = append(sub.keys, k)
					sub.tensors[k] = st.tensors[k]
				}
			}
			load(c.m, sub, cp)
		}
	}
	root := &localState{tensors: map[string]*tensor.Tensor{}}
	for _, k := range sd.Keys {
		if _, dup := root.tensors[k]; dup {
			continue
		}
		if t, ok := sd.Tensors[k]; ok {
			root.keys = append(root.keys, k)
			root.tensors[k] = t
		}
	}
	self := b.self
	if self == nil {
		self = b
	}
	load(self, root, "")
	if len(problems) > 0 || (strict && len(missing)+len(unexpected) > 0) {
		e := &LoadError{Class: b.Class(), Problems: problems}
		if strict {
			e.Missing, e.Unexpected = missing, unexpected
		}
		return missing, unexpected, e
	}
	return missing, unexpected, nil
}

// copyInto casts in into the slot's tensor in place, or returns PyTorch's message for why it cannot.
func copyInto(s *slot, key string, in *tensor.Tensor) string {
	inShape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		inShape[i] = int(d)
	}
	oneDimToScalar := len(s.t.Shape) == 0 && len(in.Shape) == 1
	if !oneDimToScalar && !sameShape(inShape, s.t.Shape) {
		return fmt.Sprintf("size mismatch for %s: copying a param with shape %s from checkpoint, the shape in current model is %s.",
			key, torchSize(inShape), torchSize(s.t.Shape))
	}
	v, err := ToFloat32(in)
	if err == nil && oneDimToScalar {
		if len(v.Data) == 0 {
			err = fmt.Errorf("index 0 is out of bounds for dimension 0 with size 0")
		} else {
			v = &Tensor{Data: v.Data[:1]}
		}
	}
	if err != nil {
		return fmt.Sprintf("While copying the parameter named %q, whose dimensions in the model are %s and whose dimensions in the checkpoint are %s, an exception occurred : %v.",
			key, torchSize(s.t.Shape), torchSize(inShape), err)
	}
	if s.dtype == tensor.Int64 {
		for i, x := range v.Data {
			v.Data[i] = float32(int64(x)) // copy_ into an integer tensor truncates
		}
	}
	copy(s.t.Data, v.Data)
	return ""
}

func torchSize(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return "torch.Size([" + strings.Join(parts, ", ") + "])"
}

func metaVersion(meta *pickle.Dict, prefix string) (int64, bool) {
	if meta == nil {
		return 0, false
	}
	v, ok := meta.Get(prefix)
	if !ok {
		return 0, false
	}
	d, ok := v.(*pickle.Dict)
	if !ok {
		return 0, false
	}
	ver, ok := d.Get("version")
	if !ok {
		return 0, false
	}
	n, ok := ver.(int64)
	return n, ok
}
