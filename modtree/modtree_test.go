package modtree_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/modtree/modtreetest"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
	"github.com/pthkit/pth/torchscript"
)

// dict2x builds a PyTorch 2.x module __dict__: plain dicts for _parameters, _buffers
// and _modules, in Module.__init__'s key order, then the hyper-parameters.
func module2x(class string, training bool, params, buffers []modtree.Tensor, nonPersistent []string,
	children []pickle.Entry, attrs map[string]any) *pickle.Object {
	d := pickle.NewDict()
	d.Set("training", training)
	p := pickle.NewDict()
	for _, t := range params {
		p.Set(t.Name, t.Tensor)
	}
	b := pickle.NewDict()
	for _, t := range buffers {
		b.Set(t.Name, t.Tensor)
	}
	np := &pickle.Set{}
	for _, s := range nonPersistent {
		np.Items = append(np.Items, s)
	}
	d.Set("_parameters", p)
	d.Set("_buffers", b)
	d.Set("_non_persistent_buffers_set", np)
	for _, k := range []string{"_backward_pre_hooks", "_backward_hooks"} {
		d.Set(k, pickle.NewDict())
	}
	d.Set("_is_full_backward_hook", nil)
	for _, k := range []string{"_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
		"_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
		"_load_state_dict_pre_hooks", "_load_state_dict_post_hooks"} {
		d.Set(k, pickle.NewDict())
	}
	m := pickle.NewDict()
	for _, c := range children {
		m.Set(c.Key, c.Value)
	}
	d.Set("_modules", m)
	for k, v := range attrs {
		d.Set(k, pyValue(v))
	}
	mod, name, _ := strings.Cut(class, ".")
	for strings.Contains(name, ".") { // split at the last dot
		i := strings.LastIndex(class, ".")
		mod, name = class[:i], class[i+1:]
	}
	return &pickle.Object{Kind: pickle.NewObj, Callable: pickle.Global{Module: mod, Name: name}, State: d, Built: true}
}

// pyValue turns a JSON value of the manifest into the pickle value Python saved:
// numbers written with a point or exponent were floats, lists were tuples (the
// manifest writes tuples as lists).
func pyValue(v any) pickle.Value {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(x.String(), ".eEinfa") {
			n, _ := x.Int64()
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		t := pickle.Tuple{}
		for _, it := range x {
			t = append(t, pyValue(it))
		}
		return t
	}
	return v
}

// build2x makes a 2.x entire-model value tree with the eager classes, flags,
// hyper-parameters and non-persistent buffers PyTorch recorded, over the tensors of
// the scripted archive of the same model (its weights are the eager model's).
func build2x(n *modtree.Node, rec modtreetest.TreeRecord) *pickle.Object {
	var children []pickle.Entry
	for i, c := range n.Children {
		children = append(children, pickle.Entry{Key: c.Name, Value: build2x(c, rec.Children[i])})
	}
	return module2x(rec.Class, rec.Training, n.Parameters, n.Buffers, rec.NonPersistent, children, rec.Attrs)
}

// TestDictLayout2x checks the PyTorch 2.x layout (plain dicts, a real set for
// _non_persistent_buffers_set): the state_dict must equal PyTorch's model.state_dict()
// with non-persistent buffers left out and BatchNorm's _version 2 in _metadata.
// (Real PyTorch 2.6 files of the same models are read by TestEntireModels/torch2.)
func TestDictLayout2x(t *testing.T) {
	models := modtreetest.Load(t, modtreetest.Dir())
	for _, name := range []string{"simplenet", "convbn"} {
		t.Run(name, func(t *testing.T) {
			m := models[name]
			a, err := torchscript.Open(filepath.Join(modtreetest.Dir(), m.Files["script"]))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			root := build2x(a.Module, m.Tree)
			n, err := modtree.Parse(root)
			if err != nil {
				t.Fatal(err)
			}
			modtreetest.CheckTree(t, "", n, m.Tree, true)
			modtreetest.CheckStateDict(t, n.StateDict(), m.StateDict)
		})
	}
}

func TestNotModule(t *testing.T) {
	d := pickle.NewDict()
	d.Set("fc1.weight", tensor.FromFloat32([]int64{1}, []float32{1}))
	for _, v := range []pickle.Value{nil, int64(1), d, &pickle.Object{Kind: pickle.NewObj, Callable: pickle.Global{Module: "a", Name: "B"}}} {
		if _, ok := modtree.FromValue(v); ok {
			t.Errorf("%T taken for a module", v)
		}
		if _, err := modtree.Parse(v); !errors.Is(err, modtree.ErrNotModule) {
			t.Errorf("%T: %v, want ErrNotModule", v, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	tt := tensor.FromFloat32([]int64{2}, []float32{1, 2})
	good := func() *pickle.Object {
		return module2x("m.M", true, []modtree.Tensor{{Name: "w", Tensor: tt}}, nil, nil, nil, nil)
	}
	for _, tc := range []struct {
		name string
		edit func(o *pickle.Object)
		msg  string
	}{
		{"parameter not a tensor", func(o *pickle.Object) {
			p, _ := o.State.(*pickle.Dict).Get("_parameters")
			p.(*pickle.Dict).Set("w", "oops")
		}, "parameter w"},
		{"modules not a dict", func(o *pickle.Object) { o.State.(*pickle.Dict).Set("_modules", int64(3)) }, "_modules"},
		{"child not a module", func(o *pickle.Object) {
			m, _ := o.State.(*pickle.Dict).Get("_modules")
			m.(*pickle.Dict).Set("c", int64(1))
		}, "module c"},
		{"contains itself", func(o *pickle.Object) {
			m, _ := o.State.(*pickle.Dict).Get("_modules")
			m.(*pickle.Dict).Set("me", o)
		}, "contains itself"},
		{"class not a global", func(o *pickle.Object) { o.Callable = int64(1) }, "class"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.edit(o)
			_, err := modtree.Parse(o)
			if !errors.Is(err, modtree.ErrMalformed) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want ErrMalformed naming %q", err, tc.msg)
			}
		})
	}
}
