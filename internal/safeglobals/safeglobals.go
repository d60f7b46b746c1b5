package safeglobals

import "strings"

// Canonical applies the mapping Python 3's Unpickler (fix_imports) and PyTorch's
// weights-only unpickler apply to a GLOBAL before resolving it: CPython's
// _compat_pickle NAME_MAPPING, else IMPORT_MAPPING (so `__builtin__` becomes
// `builtins`, `copy_reg` becomes `copyreg`), and PyTorch's own rename of the
// `torch.tensor` module to `torch._tensor`.
func Canonical(module, name string) (string, string) {
	if v, ok := nameMapping[[2]string{module, name}]; ok {
		module, name = v[0], v[1]
	} else if m, ok := importMapping[module]; ok {
		module = m
	}
	if module == "torch.tensor" {
		module = "torch._tensor"
	}
	return module, name
}

// Blocked reports whether module is one PyTorch refuses even when a user allow-lists
// a name from it (sys, os, posix, nt).
func Blocked(module string) bool {
	switch module {
	case "sys", "os", "posix", "nt":
		return true
	}
	return false
}

// WeightsOnlyAllowed reports whether module.name (already Canonical) is on PyTorch's
// default weights-only allow-list.
func WeightsOnlyAllowed(module, name string) bool {
	if Blocked(module) {
		return false
	}
	return allowed[module+"."+name]
}

// AllowedNames returns the default allow-list, for documentation and tests.
func AllowedNames() []string {
	out := make([]string, 0, len(allowed))
	for k := range allowed {
		out = append(out, k)
	}
	return out
}

// DisplayName formats a global as PyTorch's weights-only error message does:
// builtins lose their module prefix ("set", not "builtins.set").
func DisplayName(module, name string) string {
	if module == "builtins" {
		return name
	}
	return module + "." + name
}

var allowed = buildAllowed()

func buildAllowed() map[string]bool {
	m := map[string]bool{}
	for _, s := range []string{
		"collections.OrderedDict",
		"collections.Counter",
		"torch.nn.parameter.Parameter",
		"torch.serialization._get_layout",
		"torch.Size",
		"torch.Tensor",
		"torch.device",
		"_codecs.encode",
		"builtins.bytearray",
		"builtins.set",
		"builtins.complex",
		"torch._tensor._rebuild_from_type_v2",
	} {
		m[s] = true
	}
	// dtypes: _dtype_to_storage_type_map, _new_dtypes, uint1..7, int1..7.
	for _, d := range []string{
		"float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
		"complex64", "complex128", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
		"float8_e5m2", "float8_e4m3fn", "float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e8m0fnu",
		"float4_e2m1fn_x2", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "complex32",
		"uint16", "uint32", "uint64",
		"uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
		"int1", "int2", "int3", "int4", "int5", "int6", "int7",
	} {
		m["torch."+d] = true
	}
	// Legacy tensor type classes (torch._tensor_classes).
	for _, s := range []string{"Double", "Float", "Long", "Int", "Short", "Char", "Byte", "Half", "Bool", "BFloat16"} {
		for _, mod := range []string{"torch", "torch.cuda", "torch.sparse", "torch.cuda.sparse"} {
			if s == "Bool" && strings.HasSuffix(mod, "sparse") {
				continue // there is no sparse BoolTensor class
			}
			m[mod+"."+s+"Tensor"] = true
		}
	}
	// Storage classes (torch._storage_classes), CPU and CUDA.
	for _, s := range []string{
		"Double", "Float", "Long", "Int", "Short", "Char", "Byte", "Half", "Bool", "BFloat16",
		"ComplexDouble", "ComplexFloat", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4",
	} {
		m["torch."+s+"Storage"] = true
		m["torch.cuda."+s+"Storage"] = true
	}
	m["torch.storage.TypedStorage"] = true
	m["torch.storage.UntypedStorage"] = true
	m["torch.UntypedStorage"] = true
	m["torch.TypedStorage"] = true
	for _, q := range []string{"per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams"} {
		m["torch."+q] = true
	}
	for _, f := range []string{
		"_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_tensor",
		"_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage",
		"_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
		"_rebuild_sparse_csr_tensor", // allowed in 1.13, later folded into _rebuild_sparse_tensor
	} {
		m["torch._utils."+f] = true
	}
	return m
}

// IsStorageClassName reports whether name looks like a storage class, as
// torch.load's find_class decides ("any name containing Storage").
func IsStorageClassName(name string) bool { return strings.Contains(name, "Storage") }
