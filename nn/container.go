package nn

import (
	"fmt"
	"strconv"
)

// Sequential is torch.nn.Sequential: children named "0", "1", … run in order.
type Sequential struct {
	ModuleBase
}

// NewSequential returns a Sequential of the given modules.
func NewSequential(mods ...Module) *Sequential {
	s := &Sequential{}
	s.init(s, "Sequential", 1)
	for _, m := range mods {
		s.Append(m)
	}
	return s
}

// Append adds m as the next child.
func (s *Sequential) Append(m Module) { Add(s, strconv.Itoa(len(s.children)), m) }

// Len returns the number of children.
func (s *Sequential) Len() int { return len(s.children) }

// At returns the i-th child.
func (s *Sequential) At(i int) Module { return s.children[i].m }

// Forward passes x through every child in order; each must be a Forwarder.
func (s *Sequential) Forward(x *Tensor) *Tensor {
	for _, c := range s.children {
		f, ok := c.m.(Forwarder)
		if !ok {
			panic(fmt.Sprintf("nn.Sequential: child %s (%s) has no Forward", c.name, c.m.Module().Class()))
		}
		x = f.Forward(x)
	}
	return x
}

// ModuleList is torch.nn.ModuleList: an indexed list of children named "0", "1", ….
type ModuleList struct {
	ModuleBase
}

// NewModuleList returns a ModuleList of the given modules.
func NewModuleList(mods ...Module) *ModuleList {
	l := &ModuleList{}
	l.init(l, "ModuleList", 1)
	for _, m := range mods {
		l.Append(m)
	}
	return l
}

// Append adds m as the next child.
func (l *ModuleList) Append(m Module) { Add(l, strconv.Itoa(len(l.children)), m) }

// Len returns the number of children.
func (l *ModuleList) Len() int { return len(l.children) }

// At returns the i-th child.
func (l *ModuleList) At(i int) Module { return l.children[i].m }

// ModuleDict is torch.nn.ModuleDict: children under string keys, in insertion order.
type ModuleDict struct {
	ModuleBase
}

// NewModuleDict returns an empty ModuleDict.
func NewModuleDict() *ModuleDict {
	d := &ModuleDict{}
	d.init(d, "ModuleDict", 1)
	return d
}

// Set adds or replaces the child under key.
func (d *ModuleDict) Set(key string, m Module) { Add(d, key, m) }

// Get returns the child under key.
func (d *ModuleDict) Get(key string) (Module, bool) {
	for _, c := range d.children {
		if c.name == key {
			return c.m, true
		}
	}
	return nil, false
}

// Keys returns the keys in insertion order.
func (d *ModuleDict) Keys() []string {
	keys := make([]string, len(d.children))
	for i, c := range d.children {
		keys[i] = c.name
	}
	return keys
}
