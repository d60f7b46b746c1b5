package torchscript

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/internal/atomicfile"
	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/nn"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Scripter is implemented by custom modules (types embedding nn.ModuleBase) to give
// their forward pass in TorchScript, so that Save can write them. ScriptForward
// returns the body of
//
//	def forward(self, x: Tensor) -> Tensor:
//
// one statement per line, unindented. Sub-modules are called through their forward
// method and parameters read as attributes, e.g. for SimpleNet:
//
//	return self.fc2.forward(torch.relu(self.fc1.forward(x)))
type Scripter interface {
	nn.Module
	ScriptForward() string
}

// Save writes m as a TorchScript archive at path, as torch.jit.save would: code/ with
// one class per module, data.pkl with the module objects and their tensors under
// data/N, an empty constants.pkl and version 3, in PyTorch's zip layout. PyTorch opens
// it with torch.jit.load and no Python class definitions.
//
// m may be built from nn's Sequential, Linear, Conv1d, Conv2d, BatchNorm (1d/2d),
// LayerNorm, MaxPool2d,
// AvgPool2d, AdaptiveAvgPool2d, Flatten, Identity, Dropout, Softmax and the
// activations (ReLU, ReLU6, Sigmoid, Tanh, SiLU, GELU, Hardsigmoid, Hardswish),
// and from custom modules implementing Scripter. Other modules give ErrUnsupported.
func Save(path string, m nn.Module) error {
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	err := atomicfile.Write(path, func(w io.Writer) error { return Write(w, name, m) })
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// Write writes m as a TorchScript archive whose records live under archiveName/.
func Write(w io.Writer, archiveName string, m nn.Module) error {
	s := &scripter{classes: map[string][]*classDef{}, byCode: map[string]string{}, sd: m.Module().StateDict()}
	root, err := s.object(m, "")
	if err != nil {
		return err
	}
	data, err := pickle.Marshal(root)
	if err != nil {
		return fmt.Errorf("data.pkl: %w", err)
	}
	consts, err := pickle.Marshal(pickle.Tuple{})
	if err != nil {
		return fmt.Errorf("constants.pkl: %w", err)
	}
	zw := zipfile.NewWriter(w, archiveName)
	for i, b := range s.data {
		if err := zw.WriteRecord("data/"+strconv.Itoa(i), b); err != nil {
			return err
		}
	}
	if err := zw.WriteRecord("data.pkl", data); err != nil {
		return err
	}
	quals := make([]string, 0, len(s.classes))
	for q := range s.classes {
		quals = append(quals, q)
	}
	sort.Strings(quals)
	for _, q := range quals {
		var code strings.Builder
		for _, c := range s.classes[q] {
			code.WriteString(c.code)
		}
		if err := zw.WriteRecord("code/"+strings.ReplaceAll(q, ".", "/")+".py", []byte(code.String())); err != nil {
			return err
		}
	}
	if err := zw.WriteRecord("constants.pkl", consts); err != nil {
		return err
	}
	if err := zw.WriteRecord("version", []byte("3\n")); err != nil {
		return err
	}
	return zw.Close()
}

type classDef struct {
	name string // qualified
	code string
}

type scripter struct {
	classes map[string][]*classDef // qualifier → classes defined in its code record
	byCode  map[string]string      // class body (with a placeholder name) → qualified name
	mangle  int
	data    [][]byte
	sd      *pth.StateDict
}

// slotValue is one attribute of a module object: its declared type and its value.
type slotValue struct {
	name, typ string
	value     pickle.Value
}

// object builds the data.pkl object of module m at path, defining its class.
func (s *scripter) object(m nn.Module, path string) (pickle.Value, error) {
	mb := m.Module()
	spec, err := describeModule(m)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", displayPath(path), err)
	}
	var slots []slotValue
	// Every nn.Module PyTorch 1.13 scripts has these two slots. Keeping both also means
	// the state dict never has a single entry, which pickle.Marshal would write as
	// SETITEM, an opcode the C++ unpickler of torch.jit.load does not know.
	slots = append(slots, slotValue{"training", "bool", mb.Training()},
		slotValue{"_is_full_backward_hook", "Optional[bool]", nil})
	var params, buffers []string
	for _, p := range spec.params {
		params = append(params, p.name)
		if p.t == nil {
			slots = append(slots, slotValue{p.name, "Optional[Tensor]", nil})
			continue
		}
		v, err := s.tensor(p.t, joinKey(path, p.name), tensor.Float32)
		if err != nil {
			return nil, err
		}
		slots = append(slots, slotValue{p.name, "Tensor", v})
	}
	for _, b := range spec.buffers {
		buffers = append(buffers, b.name)
		if b.t == nil {
			slots = append(slots, slotValue{b.name, "Optional[Tensor]", nil})
			continue
		}
		v, err := s.tensor(b.t, joinKey(path, b.name), b.dtype)
		if err != nil {
			return nil, err
		}
		slots = append(slots, slotValue{b.name, "Tensor", v})
	}
	var childSlots []slotValue
	for _, c := range mb.Children() {
		obj, err := s.object(c.Module, joinKey(path, c.Name))
		if err != nil {
			return nil, err
		}
		cls := obj.(*pickle.Object).Callable.(pickle.Global)
		childSlots = append(childSlots, slotValue{c.Name, cls.Module + "." + cls.Name, obj})
	}
	slots = append(slots, childSlots...)

	qual, name := s.defineClass(spec, params, buffers, slots)
	state := pickle.NewDict()
	for _, sl := range slots {
		state.Set(sl.name, sl.value)
	}
	return &pickle.Object{Kind: pickle.NewObj, Callable: pickle.Global{Module: qual, Name: name},
		Args: pickle.Tuple{}, State: state, Built: true}, nil
}

// defineClass writes the class code for a module and returns its qualifier and name,
// reusing an identical earlier definition and mangling names as PyTorch does
// (___torch_mangle_N) when definitions differ.
func (s *scripter) defineClass(spec *moduleSpec, params, buffers []string, slots []slotValue) (string, string) {
	const self = "\x00SELF\x00"
	var b strings.Builder
	fmt.Fprintf(&b, "class %s(Module):\n", spec.name)
	fmt.Fprintf(&b, "  __parameters__ = [%s]\n", quoteList(params))
	fmt.Fprintf(&b, "  __buffers__ = [%s]\n", quoteList(buffers))
	for _, sl := range slots {
		if isIdent(sl.name) {
			fmt.Fprintf(&b, "  %s : %s\n", sl.name, sl.typ)
		} else {
			fmt.Fprintf(&b, "  __annotations__[%s] = %s\n", strconv.Quote(sl.name), sl.typ)
		}
	}
	for _, c := range spec.consts {
		fmt.Fprintf(&b, "  %s : Final[%s] = %s\n", c.Name, c.Type, pyLiteral(c.Value))
	}
	fmt.Fprintf(&b, "  def forward(self: %s,\n    %s: Tensor) -> Tensor:\n", self, spec.arg)
	for _, line := range strings.Split(strings.TrimRight(spec.body, "\n"), "\n") {
		fmt.Fprintf(&b, "    %s\n", line)
	}
	body := b.String()
	if q, ok := s.byCode[body]; ok {
		i := strings.LastIndex(q, ".")
		return q[:i], q[i+1:]
	}
	qual := spec.qualifier
	if s.nameTaken(qual, spec.name) {
		qual = fmt.Sprintf("%s.___torch_mangle_%d", spec.qualifier, s.mangle)
		s.mangle++
	}
	full := qual + "." + spec.name
	s.byCode[body] = full
	s.classes[qual] = append(s.classes[qual], &classDef{name: full, code: strings.ReplaceAll(body, self, full)})
	return qual, spec.name
}

func (s *scripter) nameTaken(qual, name string) bool {
	for _, c := range s.classes[qual] {
		if c.name == qual+"."+name {
			return true
		}
	}
	return false
}

// tensor writes a module tensor as a data/N record and returns its rebuild call. The
// state_dict's tensor is used when there is one (it has the saved dtype, e.g. int64
// num_batches_tracked); non-persistent buffers are converted from nn's float32.
func (s *scripter) tensor(t *nn.Tensor, key string, dt tensor.DType) (pickle.Value, error) {
	tt, ok := s.sd.Tensors[key]
	if !ok {
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int64(d)
		}
		tt = tensor.FromFloat32(shape, t.Data)
		if dt != tensor.Float32 {
			var err error
			if tt, err = tt.Convert(dt); err != nil {
				return nil, fmt.Errorf("buffer %s: %w", key, err)
			}
		}
	}
	b, err := tt.ContiguousBytes()
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", key, err)
	}
	rec := strconv.Itoa(len(s.data))
	s.data = append(s.data, bytes.Clone(b))
	numel := tt.Numel()
	cls := tt.DType.ScalarTypeName() + "Storage"
	pid := pickle.PersistentID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: cls}, rec, "cpu", numel}}
	size := make(pickle.Tuple, len(tt.Shape))
	stride := make(pickle.Tuple, len(tt.Shape))
	for i, st := range tensor.ContiguousStrides(tt.Shape) {
		size[i], stride[i] = tt.Shape[i], st
	}
	hooks := &pickle.Object{Kind: pickle.Reduce, Callable: pickle.Global{Module: "collections", Name: "OrderedDict"}, Args: pickle.Tuple{}}
	return &pickle.Object{Kind: pickle.Reduce, Callable: pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"},
		Args: pickle.Tuple{pid, int64(0), size, stride, false, hooks}}, nil
}

func quoteList(names []string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(strconv.Quote(n))
		b.WriteString(", ")
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// pyLiteral writes a constant as TorchScript source.
func pyLiteral(v pickle.Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'g', 17, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += "."
		}
		return s
	case string:
		return strconv.Quote(x)
	case pickle.Tuple:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = pyLiteral(it)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprint(v)
}

func displayPath(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}
