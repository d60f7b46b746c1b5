package modtree

import (
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Node is one nn.Module of a recovered tree.
type Node struct {
	// Name is the attribute name under which the parent holds this module ("" for the root).
	Name string
	// Class is the module's class path: "__main__.SimpleNet",
	// "torch.nn.modules.linear.Linear", or for TorchScript the qualified name
	// "__torch__.torch.nn.modules.linear.___torch_mangle_0.Linear".
	Class string
	// Training is the module's training flag.
	Training bool
	// Attrs are the hyper-parameters (in_features, stride, …) in the file's order.
	Attrs []Attr
	// Parameters are the module's own parameters, in registration order. Parameters
	// that are None (a Linear without bias) are left out, as state_dict leaves them out.
	Parameters []Tensor
	// Buffers are the module's own buffers, in registration order, None ones left out.
	Buffers []Tensor
	// Children are the sub-modules, in registration order.
	Children []*Node
	// Version is the module class's _version, recorded by state_dict in _metadata.
	Version int64
}

// Attr is one hyper-parameter of a module. Value is an inert pickle value
// (int64, float64, bool, string, nil, pickle.Tuple, *pickle.List, …).
type Attr struct {
	Name  string
	Value pickle.Value
}

// Tensor is a named parameter or buffer of a module.
type Tensor struct {
	Name   string
	Tensor *tensor.Tensor
	// Persistent is false for buffers registered with persistent=False: they are
	// part of the module but not of its state_dict. Parameters are always persistent.
	Persistent bool
}

// StateDict is a module tree's state_dict. It has the same fields as pth.StateDict,
// so pth.StateDict(*sd) converts it (modtree does not import pth, which builds on it).
type StateDict struct {
	Keys     []string                  // insertion order, as PyTorch's OrderedDict
	Tensors  map[string]*tensor.Tensor // by key
	Metadata *pickle.Dict              // prefix → *pickle.Dict{"version": int64}
}

// Attr returns the hyper-parameter called name.
func (n *Node) Attr(name string) (pickle.Value, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return nil, false
}

// Child returns the direct sub-module called name, or nil.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Walk calls fn for n and every module below it, depth first in registration order,
// with each module's dotted path ("" for n itself, "features.0", …). Walk stops and
// returns false when fn returns false.
func (n *Node) Walk(fn func(path string, m *Node) bool) bool {
	return n.walk("", fn)
}

func (n *Node) walk(path string, fn func(string, *Node) bool) bool {
	if !fn(path, n) {
		return false
	}
	for _, c := range n.Children {
		if !c.walk(joinKey(path, c.Name), fn) {
			return false
		}
	}
	return true
}

// StateDict returns the tree's state_dict as PyTorch's Module.state_dict() builds it:
// for each module in depth-first registration order its parameters, then its
// persistent buffers, under dotted keys; Metadata maps every module's prefix ("" for
// the root) to {"version": Version}.
func (n *Node) StateDict() *StateDict {
	sd := &StateDict{Tensors: map[string]*tensor.Tensor{}, Metadata: pickle.NewDict()}
	n.Walk(func(path string, m *Node) bool {
		meta := pickle.NewDict()
		meta.Set("version", m.Version)
		sd.Metadata.Set(path, meta)
		add := func(t Tensor) {
			k := joinKey(path, t.Name)
			if _, dup := sd.Tensors[k]; !dup {
				sd.Keys = append(sd.Keys, k)
			}
			sd.Tensors[k] = t.Tensor
		}
		for _, p := range m.Parameters {
			add(p)
		}
		for _, b := range m.Buffers {
			if b.Persistent {
				add(b)
			}
		}
		return true
	})
	return sd
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
