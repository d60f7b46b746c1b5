package torchscript

import (
	"fmt"
	"strings"

	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// treeBuilder turns data.pkl's __torch__ objects into a modtree.Node tree.
type treeBuilder struct {
	a       *Archive
	onPath  map[*pickle.Object]bool
	tensors map[*pickle.Object]*tensor.Tensor
}

func where(path string) string {
	if path == "" {
		return "root module"
	}
	return "module " + path
}

// classOf returns the code-declared class of a data.pkl object.
func (b *treeBuilder) classOf(v pickle.Value) (*pickle.Object, *Class, error) {
	obj, ok := v.(*pickle.Object)
	if !ok {
		return nil, nil, fmt.Errorf("%T is not an object: %w", v, ErrUnsupported)
	}
	g, ok := obj.Callable.(pickle.Global)
	if !ok || (g.Module != "__torch__" && !strings.HasPrefix(g.Module, "__torch__.")) {
		return nil, nil, fmt.Errorf("object of %s is not a TorchScript class: %w", describeCallable(obj), ErrUnsupported)
	}
	qn := g.Module + "." + g.Name
	c, ok := b.a.Classes[qn]
	if !ok {
		return nil, nil, fmt.Errorf("%w: class %s has no definition in record code/%s.py", ErrFormat, qn, strings.ReplaceAll(g.Module, ".", "/"))
	}
	return obj, c, nil
}

func (b *treeBuilder) module(v pickle.Value, name, path string, depth int) (*modtree.Node, error) {
	if depth > maxModuleDepth {
		return nil, fmt.Errorf("%s: modules nested deeper than %d: %w", where(path), maxModuleDepth, ErrUnsupported)
	}
	obj, cls, err := b.classOf(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where(path), err)
	}
	if !cls.IsModule() {
		return nil, fmt.Errorf("%s: class %s (base %s) is not a Module: %w", where(path), cls.Name, cls.Base, ErrUnsupported)
	}
	if b.onPath[obj] {
		return nil, fmt.Errorf("%s: module contains itself: %w", where(path), ErrFormat)
	}
	b.onPath[obj] = true
	defer delete(b.onPath, obj)

	if contains(cls.Methods, "__getstate__") {
		return nil, fmt.Errorf("%s: class %s defines __getstate__ (custom serialized state): %w", where(path), cls.Name, ErrUnsupported)
	}
	state, ok := obj.State.(*pickle.Dict)
	if !obj.Built || !ok {
		return nil, fmt.Errorf("%s: object of %s has no attribute dict: %w", where(path), cls.Name, ErrUnsupported)
	}
	n := &modtree.Node{Name: name, Class: cls.Name, Training: true, Version: 1}
	for _, e := range state.Entries {
		key, ok := e.Key.(string)
		if !ok {
			return nil, fmt.Errorf("%s: attribute name is %T: %w", where(path), e.Key, ErrFormat)
		}
		switch {
		case key == "training":
			t, ok := e.Value.(bool)
			if !ok {
				return nil, fmt.Errorf("%s: training is %T: %w", where(path), e.Value, ErrFormat)
			}
			n.Training = t
		case cls.isParameter(key), cls.isBuffer(key):
			if e.Value == nil {
				continue // Optional[Tensor] set to None (a Conv2d without bias)
			}
			t, err := b.tensor(e.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: attribute %s: %w", where(path), key, err)
			}
			if cls.isParameter(key) {
				n.Parameters = append(n.Parameters, modtree.Tensor{Name: key, Tensor: t, Persistent: true})
			} else {
				n.Buffers = append(n.Buffers, modtree.Tensor{Name: key, Tensor: t, Persistent: true})
			}
		case b.isTorchObject(e.Value):
			_, ccls, err := b.classOf(e.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: attribute %s: %w", where(path), key, err)
			}
			if !ccls.IsModule() {
				n.Attrs = append(n.Attrs, modtree.Attr{Name: key, Value: e.Value})
				continue
			}
			c, err := b.module(e.Value, key, joinKey(path, key), depth+1)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, c)
		case strings.HasPrefix(key, "_"):
			// _is_full_backward_hook, _reversed_padding_repeated_twice, …: internals
		default:
			n.Attrs = append(n.Attrs, modtree.Attr{Name: key, Value: b.plain(e.Value, 0)})
		}
	}
	for _, k := range cls.Constants {
		n.Attrs = append(n.Attrs, modtree.Attr{Name: k.Name, Value: k.Value})
	}
	return n, nil
}

// isTorchObject reports whether v is an object of a __torch__ class.
func (b *treeBuilder) isTorchObject(v pickle.Value) bool {
	obj, ok := v.(*pickle.Object)
	if !ok {
		return false
	}
	g, ok := obj.Callable.(pickle.Global)
	return ok && (g.Module == "__torch__" || strings.HasPrefix(g.Module, "__torch__."))
}

func (b *treeBuilder) tensor(v pickle.Value) (*tensor.Tensor, error) {
	obj, ok := v.(*pickle.Object)
	if !ok {
		return nil, fmt.Errorf("%T is not a tensor: %w", v, ErrUnsupported)
	}
	if t, ok := b.tensors[obj]; ok {
		return t, nil
	}
	if !isRebuild(obj) {
		return nil, fmt.Errorf("%s is not a plain tensor: %w", describeCallable(obj), ErrUnsupported)
	}
	t, err := modtree.RebuildTensor(obj.Args)
	if err != nil {
		return nil, err
	}
	b.tensors[obj] = t
	return t, nil
}

// plain unwraps torch.jit._pickle typed containers (build_intlist, restore_type_tag, …)
// and rebuilds tensors, leaving other values as they are.
func (b *treeBuilder) plain(v pickle.Value, depth int) pickle.Value {
	if depth > 32 {
		return v
	}
	obj, ok := v.(*pickle.Object)
	if !ok {
		return v
	}
	g, _ := obj.Callable.(pickle.Global)
	switch {
	case g.Module == "torch.jit._pickle" && len(obj.Args) >= 1:
		return b.plain(obj.Args[0], depth+1)
	case isRebuild(obj):
		if t, err := b.tensor(obj); err == nil {
			return t
		}
	}
	return v
}

func describeCallable(obj *pickle.Object) string {
	if g, ok := obj.Callable.(pickle.Global); ok {
		return g.String()
	}
	return fmt.Sprintf("%T", obj.Callable)
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
