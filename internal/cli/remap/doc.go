// Package remap implements `pth remap`: rename the keys of the state_dict(s) in
// a PyTorch file (strip or add a prefix, rename by pattern, drop keys) and
// write the result atomically, keeping every other value.
package remap
