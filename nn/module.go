package nn

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pthkit/pth/tensor"
)

// Module is anything built on a ModuleBase: every built-in module and every
// custom module that embeds ModuleBase.
type Module interface {
	// Module returns the registration record embedded in the module.
	Module() *ModuleBase
}

// Forwarder is a module with a single-input forward pass. Sequential runs its
// children through it.
type Forwarder interface {
	Module
	Forward(x *Tensor) *Tensor
}

// ModuleBase holds what torch.nn.Module keeps in _parameters, _buffers,
// _non_persistent_buffers_set and _modules, plus the training flag and the
// class's _version. Embed it in a custom module and register children with Add.
// The zero value is a module in training mode, as PyTorch's.
type ModuleBase struct {
	class    string
	version  int64
	self     Module
	eval     bool
	params   []*slot
	buffers  []*slot
	children []namedChild
}

// slot is one parameter or buffer. T may be nil (a parameter registered as
// None, like Linear's bias=False), which state_dict skips.
type slot struct {
	name       string
	t          *Tensor
	persistent bool
	dtype      tensor.DType // dtype in the state_dict (Float32, or Int64 for num_batches_tracked)
}

type namedChild struct {
	name string
	m    Module
}

// Module returns b itself; it makes every type embedding ModuleBase a Module.
func (b *ModuleBase) Module() *ModuleBase { return b }

// init records the concrete module and its class for error messages and
// named_modules, and the class's _version for _metadata.
func (b *ModuleBase) init(self Module, class string, version int64) {
	b.self, b.class, b.version = self, class, version
}

// Class returns the PyTorch class name used in messages ("Linear", "SimpleNet").
// For a custom module it is the Go type's name, recorded by the first Add.
func (b *ModuleBase) Class() string {
	if b.class == "" {
		return "Module"
	}
	return b.class
}

// SetClass sets the class name used in load errors, and the _version that
// StateDict writes into _metadata for this module (PyTorch's default is 1).
func (b *ModuleBase) SetClass(name string, version int64) {
	b.class, b.version = name, version
}

// Version returns the class's _version written to _metadata (1 unless the class says otherwise).
func (b *ModuleBase) Version() int64 {
	if b.version == 0 {
		return 1
	}
	return b.version
}

// Add registers child under name in parent (as assigning a submodule attribute
// does in PyTorch) and returns child, so constructors read
// m.FC1 = nn.Add(m, "fc1", nn.NewLinear(10, 5, true)). The first Add on a custom
// module also records its Go type name as its class name. Registering a name
// twice replaces the child in its original position, as in PyTorch.
func Add[T Module](parent Module, name string, child T) T {
	checkName("module", name)
	pb := parent.Module()
	if pb.self == nil {
		pb.self = parent
	}
	if pb.class == "" {
		pb.class = typeName(parent)
	}
	cb := child.Module()
	if cb.self == nil {
		cb.self = child
	}
	if cb.class == "" {
		cb.class = typeName(child)
	}
	for i := range pb.children {
		if pb.children[i].name == name {
			pb.children[i].m = child
			return child
		}
	}
	pb.children = append(pb.children, namedChild{name, child})
	return child
}

// checkName panics on names PyTorch refuses (empty, or containing "."), since
// they would make state_dict keys ambiguous.
func checkName(kind, name string) {
	if name == "" || strings.Contains(name, ".") {
		panic(fmt.Sprintf("nn: %s name %q must be non-empty and must not contain \".\"", kind, name))
	}
}

func typeName(m Module) string {
	t := reflect.TypeOf(m)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return "Module"
	}
	return t.Name()
}

// RegisterParameter registers t (which may be nil, like a bias that is None)
// as a parameter called name and returns it.
func (b *ModuleBase) RegisterParameter(name string, t *Tensor) *Tensor {
	checkName("parameter", name)
	b.params = setSlot(b.params, &slot{name: name, t: t, persistent: true, dtype: tensor.Float32})
	return t
}

// RegisterBuffer registers t as a buffer called name and returns it. A
// non-persistent buffer is not part of the state_dict.
func (b *ModuleBase) RegisterBuffer(name string, t *Tensor, persistent bool) *Tensor {
	checkName("buffer", name)
	b.buffers = setSlot(b.buffers, &slot{name: name, t: t, persistent: persistent, dtype: tensor.Float32})
	return t
}

// registerInt64Buffer registers a buffer saved as int64 (num_batches_tracked).
func (b *ModuleBase) registerInt64Buffer(name string, t *Tensor) *Tensor {
	b.buffers = setSlot(b.buffers, &slot{name: name, t: t, persistent: true, dtype: tensor.Int64})
	return t
}

func setSlot(list []*slot, s *slot) []*slot {
	for i := range list {
		if list[i].name == s.name {
			list[i] = s
			return list
		}
	}
	return append(list, s)
}

// Training reports whether the module is in training mode.
func (b *ModuleBase) Training() bool { return !b.eval }

// Train sets training mode on the module and all its descendants (module.train(mode)).
func (b *ModuleBase) Train(mode bool) {
	b.eval = !mode
	for _, c := range b.children {
		if c.m != nil {
			c.m.Module().Train(mode)
		}
	}
}

// Eval switches the module and all its descendants to evaluation mode (module.eval()).
func (b *ModuleBase) Eval() { b.Train(false) }

// Children returns the direct children in registration order.
func (b *ModuleBase) Children() []NamedModule {
	out := make([]NamedModule, 0, len(b.children))
	for _, c := range b.children {
		if c.m != nil {
			out = append(out, NamedModule{c.name, c.m})
		}
	}
	return out
}

// NamedModule is a module and its dotted path from the root ("" for the root).
type NamedModule struct {
	Name   string
	Module Module
}

// NamedTensor is a parameter or buffer and its dotted key.
type NamedTensor struct {
	Name   string
	Tensor *Tensor
}

// NamedModules returns the module itself (name "") and every descendant,
// depth first in registration order, each once, as named_modules() does.
func (b *ModuleBase) NamedModules() []NamedModule {
	var out []NamedModule
	seen := map[*ModuleBase]bool{}
	var walk func(m Module, mb *ModuleBase, prefix string)
	walk = func(m Module, mb *ModuleBase, prefix string) {
		if seen[mb] {
			return
		}
		seen[mb] = true
		out = append(out, NamedModule{prefix, m})
		for _, c := range mb.children {
			if c.m != nil {
				walk(c.m, c.m.Module(), join(prefix, c.name))
			}
		}
	}
	self := b.self
	if self == nil {
		self = b
	}
	walk(self, b, "")
	return out
}

// NamedParameters returns every parameter of the module and its descendants
// with its dotted name, each tensor once, as named_parameters() does.
func (b *ModuleBase) NamedParameters() []NamedTensor {
	return b.namedTensors(func(mb *ModuleBase) []*slot { return mb.params })
}

// NamedBuffers returns every buffer (persistent or not) of the module and its
// descendants with its dotted name, each tensor once, as named_buffers() does.
func (b *ModuleBase) NamedBuffers() []NamedTensor {
	return b.namedTensors(func(mb *ModuleBase) []*slot { return mb.buffers })
}

// Parameters returns the tensors of NamedParameters.
func (b *ModuleBase) Parameters() []*Tensor {
	var out []*Tensor
	for _, p := range b.NamedParameters() {
		out = append(out, p.Tensor)
	}
	return out
}

func (b *ModuleBase) namedTensors(slots func(*ModuleBase) []*slot) []NamedTensor {
	var out []NamedTensor
	seen := map[*Tensor]bool{}
	for _, nm := range b.NamedModules() {
		for _, s := range slots(nm.Module.Module()) {
			if s.t == nil || seen[s.t] {
				continue
			}
			seen[s.t] = true
			out = append(out, NamedTensor{join(nm.Name, s.name), s.t})
		}
	}
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
