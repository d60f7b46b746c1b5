package modtree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// jsonTensor is a parameter or buffer in the JSON form.
type jsonTensor struct {
	Name       string  `json:"name"`
	DType      string  `json:"dtype"`
	Shape      []int64 `json:"shape"`
	Persistent *bool   `json:"persistent,omitempty"`
}

// MarshalJSON writes the node as
// {"name","class","training","attrs","parameters","buffers","children"}; attrs keep
// the file's order, parameters and buffers are {"name","dtype","shape"} (buffers add
// "persistent").
func (n *Node) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	field := func(name string, v any) error {
		if b.Len() > 1 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteString(":")
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(data)
		return nil
	}
	attrs := orderedObject{}
	for _, a := range n.Attrs {
		attrs = append(attrs, pickle.Entry{Key: a.Name, Value: jsonValue(a.Value, 0)})
	}
	tensors := func(ts []Tensor, buffers bool) []jsonTensor {
		out := make([]jsonTensor, 0, len(ts))
		for _, t := range ts {
			jt := jsonTensor{Name: t.Name, DType: dtypeName(t.Tensor.DType), Shape: t.Tensor.Shape}
			if jt.Shape == nil {
				jt.Shape = []int64{}
			}
			if buffers {
				p := t.Persistent
				jt.Persistent = &p
			}
			out = append(out, jt)
		}
		return out
	}
	children := n.Children
	if children == nil {
		children = []*Node{}
	}
	for _, f := range []struct {
		name string
		v    any
	}{
		{"name", n.Name}, {"class", n.Class}, {"training", n.Training}, {"attrs", attrs},
		{"parameters", tensors(n.Parameters, false)}, {"buffers", tensors(n.Buffers, true)},
		{"children", children},
	} {
		if err := field(f.name, f.v); err != nil {
			return nil, err
		}
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

// orderedObject marshals as a JSON object keeping its order; keys are strings.
type orderedObject []pickle.Entry

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	for i, e := range o {
		if i > 0 {
			b.WriteString(",")
		}
		k, err := json.Marshal(fmt.Sprint(e.Key))
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(e.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteString(":")
		b.Write(v)
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

// jsonValue converts an inert value to something encoding/json writes: tuples and lists
// become arrays, dicts objects, globals "module.name", tensors {"dtype","shape"}, other
// objects {"class": …}.
func jsonValue(v pickle.Value, depth int) any {
	if depth > 32 {
		return "…"
	}
	switch x := v.(type) {
	case nil, bool, int64, string:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return x
	case *big.Int:
		return json.Number(x.String())
	case []byte:
		return string(x)
	case pickle.Tuple:
		return jsonList(x, depth)
	case *pickle.List:
		return jsonList(x.Items, depth)
	case *pickle.Set:
		return jsonList(x.Items, depth)
	case *pickle.Dict:
		o := orderedObject{}
		for _, e := range x.Entries {
			o = append(o, pickle.Entry{Key: e.Key, Value: jsonValue(e.Value, depth+1)})
		}
		return o
	case pickle.Global:
		return x.String()
	case *tensor.Tensor:
		return map[string]any{"dtype": dtypeName(x.DType), "shape": x.Shape}
	case *pickle.Object:
		if g, ok := x.Callable.(pickle.Global); ok {
			return map[string]any{"class": g.String()}
		}
		return map[string]any{"class": "?"}
	}
	return fmt.Sprintf("%T", v)
}

func jsonList(items []pickle.Value, depth int) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = jsonValue(it, depth+1)
	}
	return out
}

// Fprint writes the tree as indented text, one module per line with its
// hyper-parameters in Python's notation, and its parameters and buffers below it:
//
//	__main__.SimpleNet
//	  (fc1): torch.nn.modules.linear.Linear(in_features=10, out_features=5)
//	    weight: float32[5, 10]
//	    bias: float32[5]
func (n *Node) Fprint(w io.Writer) error {
	var b strings.Builder
	n.fprint(&b, 0)
	_, err := io.WriteString(w, b.String())
	return err
}

func (n *Node) fprint(b *strings.Builder, depth int) {
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent)
	if depth > 0 {
		fmt.Fprintf(b, "(%s): ", n.Name)
	}
	b.WriteString(n.Class)
	if len(n.Attrs) > 0 {
		b.WriteString("(")
		for i, a := range n.Attrs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(a.Name)
			b.WriteString("=")
			b.WriteString(PyRepr(a.Value))
		}
		b.WriteString(")")
	}
	if !n.Training {
		b.WriteString(" [eval]")
	}
	b.WriteString("\n")
	for _, p := range n.Parameters {
		fmt.Fprintf(b, "%s  %s: %s\n", indent, p.Name, tensorSummary(p.Tensor))
	}
	for _, t := range n.Buffers {
		note := " (buffer)"
		if !t.Persistent {
			note = " (buffer, not persistent)"
		}
		fmt.Fprintf(b, "%s  %s: %s%s\n", indent, t.Name, tensorSummary(t.Tensor), note)
	}
	for _, c := range n.Children {
		c.fprint(b, depth+1)
	}
}

func tensorSummary(t *tensor.Tensor) string {
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	return dtypeName(t.DType) + "[" + strings.Join(dims, ", ") + "]"
}

// PyRepr writes an inert value roughly as Python's repr would: 1e-05, True, (1, 1),
// 'zeros'. Objects show as <module.Class>.
func PyRepr(v pickle.Value) string {
	var b strings.Builder
	pyRepr(&b, v, 0)
	return b.String()
}

func pyRepr(b *strings.Builder, v pickle.Value, depth int) {
	if depth > 16 {
		b.WriteString("...")
		return
	}
	seq := func(open, close string, items []pickle.Value) {
		b.WriteString(open)
		for i, it := range items {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, it, depth+1)
		}
		if open == "(" && len(items) == 1 {
			b.WriteString(",")
		}
		b.WriteString(close)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		b.WriteString(x.String())
	case float64, string:
		b.WriteString(pickle.Sprint(x)) // Python's repr, checked against CPython in package pickle
	case pickle.Tuple:
		seq("(", ")", x)
	case *pickle.List:
		seq("[", "]", x.Items)
	case *pickle.Dict:
		b.WriteString("{")
		for i, e := range x.Entries {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, e.Key, depth+1)
			b.WriteString(": ")
			pyRepr(b, e.Value, depth+1)
		}
		b.WriteString("}")
	case pickle.Global:
		b.WriteString(x.String())
	case *tensor.Tensor:
		b.WriteString("tensor(" + tensorSummary(x) + ")")
	case *pickle.Object:
		if g, ok := x.Callable.(pickle.Global); ok {
			b.WriteString("<" + g.String() + ">")
		} else {
			b.WriteString("<object>")
		}
	default:
		fmt.Fprintf(b, "<%T>", v)
	}
}

func dtypeName(dt tensor.DType) string {
	if dt.Valid() {
		return dt.String()
	}
	return fmt.Sprintf("dtype(%d)", dt)
}
