package tensor

import "strings"

// dtypeInfo is one row of the dtype table.
type dtypeInfo struct {
	name    string // PyTorch name without "torch."
	size    int    // bytes per element
	storage string // Python storage class (torch.<name>), "" for dtypes saved as UntypedStorage
	cpp     string // C++ ScalarType name; the TorchScript storage class is cpp+"Storage"
	st      string // safetensors code, "" if none
	numpy   string // numpy array-interface descr, "" if none
	float   bool
	complex bool
	quant   bool
}

var dtypes = [...]dtypeInfo{
	Invalid:        {name: "invalid"},
	Float32:        {name: "float32", size: 4, storage: "FloatStorage", cpp: "Float", st: "F32", numpy: "<f4", float: true},
	Float64:        {name: "float64", size: 8, storage: "DoubleStorage", cpp: "Double", st: "F64", numpy: "<f8", float: true},
	Float16:        {name: "float16", size: 2, storage: "HalfStorage", cpp: "Half", st: "F16", numpy: "<f2", float: true},
	BFloat16:       {name: "bfloat16", size: 2, storage: "BFloat16Storage", cpp: "BFloat16", st: "BF16", float: true},
	Float8E5M2:     {name: "float8_e5m2", size: 1, cpp: "Float8_e5m2", st: "F8_E5M2", float: true},
	Float8E4M3FN:   {name: "float8_e4m3fn", size: 1, cpp: "Float8_e4m3fn", st: "F8_E4M3", float: true},
	Float8E5M2FNUZ: {name: "float8_e5m2fnuz", size: 1, cpp: "Float8_e5m2fnuz", float: true},
	Float8E4M3FNUZ: {name: "float8_e4m3fnuz", size: 1, cpp: "Float8_e4m3fnuz", float: true},
	Float8E8M0FNU:  {name: "float8_e8m0fnu", size: 1, cpp: "Float8_e8m0fnu", st: "F8_E8M0", float: true},
	Complex32:      {name: "complex32", size: 4, cpp: "ComplexHalf", complex: true},
	Complex64:      {name: "complex64", size: 8, storage: "ComplexFloatStorage", cpp: "ComplexFloat", st: "C64", numpy: "<c8", complex: true},
	Complex128:     {name: "complex128", size: 16, storage: "ComplexDoubleStorage", cpp: "ComplexDouble", numpy: "<c16", complex: true},
	Int8:           {name: "int8", size: 1, storage: "CharStorage", cpp: "Char", st: "I8", numpy: "|i1"},
	Int16:          {name: "int16", size: 2, storage: "ShortStorage", cpp: "Short", st: "I16", numpy: "<i2"},
	Int32:          {name: "int32", size: 4, storage: "IntStorage", cpp: "Int", st: "I32", numpy: "<i4"},
	Int64:          {name: "int64", size: 8, storage: "LongStorage", cpp: "Long", st: "I64", numpy: "<i8"},
	Uint8:          {name: "uint8", size: 1, storage: "ByteStorage", cpp: "Byte", st: "U8", numpy: "|u1"},
	Uint16:         {name: "uint16", size: 2, cpp: "UInt16", st: "U16", numpy: "<u2"},
	Uint32:         {name: "uint32", size: 4, cpp: "UInt32", st: "U32", numpy: "<u4"},
	Uint64:         {name: "uint64", size: 8, cpp: "UInt64", st: "U64", numpy: "<u8"},
	Bool:           {name: "bool", size: 1, storage: "BoolStorage", cpp: "Bool", st: "BOOL", numpy: "|b1"},
	QInt8:          {name: "qint8", size: 1, storage: "QInt8Storage", cpp: "QInt8", quant: true},
	QUInt8:         {name: "quint8", size: 1, storage: "QUInt8Storage", cpp: "QUInt8", quant: true},
	QInt32:         {name: "qint32", size: 4, storage: "QInt32Storage", cpp: "QInt32", quant: true},
	QUInt4x2:       {name: "quint4x2", size: 1, storage: "QUInt4x2Storage", cpp: "QUInt4x2", quant: true},
	QUInt2x4:       {name: "quint2x4", size: 1, storage: "QUInt2x4Storage", cpp: "QUInt2x4", quant: true},
}

// AllDTypes lists every valid dtype, in the package's order.
func AllDTypes() []DType {
	out := make([]DType, 0, len(dtypes)-1)
	for d := Float32; int(d) < len(dtypes); d++ {
		out = append(out, d)
	}
	return out
}

func (d DType) info() *dtypeInfo {
	if int(d) < len(dtypes) {
		return &dtypes[d]
	}
	return &dtypes[Invalid]
}

// Valid reports whether d is one of the dtypes above (not Invalid or out of range).
func (d DType) Valid() bool { return d != Invalid && int(d) < len(dtypes) }

// String returns PyTorch's name for d, without the "torch." prefix: "float32",
// "bfloat16", "float8_e4m3fn", "complex64", "bool", "qint8", "quint4x2", ….
func (d DType) String() string { return d.info().name }

// Size returns the number of bytes of one element (0 for Invalid).
func (d DType) Size() int { return d.info().size }

// StorageClass returns the name of the typed storage class torch.save writes for d
// (as `torch <name>`): "FloatStorage", "CharStorage" (int8), "ByteStorage" (uint8),
// "QInt8Storage", …. It is empty for the dtypes PyTorch saves as UntypedStorage
// with an explicit dtype (float8 variants, complex32, uint16/32/64).
func (d DType) StorageClass() string { return d.info().storage }

// ScalarTypeName returns the C++ c10::ScalarType name ("Float", "Char",
// "Float8_e4m3fn", "UInt16", …), from which TorchScript derives storage class names.
func (d DType) ScalarTypeName() string { return d.info().cpp }

// SafetensorsName returns d's dtype code in the safetensors header ("F32", "BF16",
// "F8_E4M3", "BOOL", …), or "" if safetensors has none.
func (d DType) SafetensorsName() string { return d.info().st }

// NumpyDescr returns d's numpy array-interface descriptor ("<f4", "|b1", "<c8", …),
// or "" if numpy has no native equivalent (bfloat16, float8, quantized types).
func (d DType) NumpyDescr() string { return d.info().numpy }

// IsFloatingPoint reports whether d is a real floating-point dtype.
func (d DType) IsFloatingPoint() bool { return d.info().float }

// IsComplex reports whether d is a complex dtype.
func (d DType) IsComplex() bool { return d.info().complex }

// IsQuantized reports whether d is a quantized dtype (qint8, quint8, qint32, quint4x2, quint2x4).
func (d DType) IsQuantized() bool { return d.info().quant }

// IsSigned reports whether d can hold negative values.
func (d DType) IsSigned() bool {
	switch d {
	case Uint8, Uint16, Uint32, Uint64, Bool, QUInt8, QUInt4x2, QUInt2x4, Float8E8M0FNU, Invalid:
		return false
	}
	return d.Valid()
}

var (
	byStorage     = map[string]DType{}
	byTorchName   = map[string]DType{}
	bySafetensors = map[string]DType{}
	byNumpy       = map[string]DType{}
)

func init() {
	for i := Float32; int(i) < len(dtypes); i++ {
		in := &dtypes[i]
		if in.storage != "" {
			byStorage[in.storage] = i
		}
		byStorage[in.cpp+"Storage"] = i
		byTorchName[in.name] = i
		if in.st != "" {
			bySafetensors[in.st] = i
		}
		if in.numpy != "" {
			byNumpy[in.numpy] = i
		}
	}
	// PyTorch's aliases (torch.float is torch.float32, …).
	for alias, d := range map[string]DType{
		"float": Float32, "double": Float64, "half": Float16,
		"cfloat": Complex64, "cdouble": Complex128, "chalf": Complex32,
		"short": Int16, "int": Int32, "long": Int64,
	} {
		byTorchName[alias] = d
	}
	// numpy spells the same types a few more ways.
	for descr, d := range map[string]DType{
		"<f4": Float32, "=f4": Float32, "f4": Float32, "<f8": Float64, "=f8": Float64, "f8": Float64,
		"<f2": Float16, "=f2": Float16, "f2": Float16,
		"|i1": Int8, "<i1": Int8, "i1": Int8, "|u1": Uint8, "<u1": Uint8, "u1": Uint8, "|b1": Bool, "<b1": Bool, "b1": Bool, "?": Bool,
		"<i2": Int16, "i2": Int16, "<i4": Int32, "i4": Int32, "<i8": Int64, "i8": Int64,
		"<u2": Uint16, "u2": Uint16, "<u4": Uint32, "u4": Uint32, "<u8": Uint64, "u8": Uint64,
		"<c8": Complex64, "c8": Complex64, "<c16": Complex128, "c16": Complex128,
	} {
		byNumpy[descr] = d
	}
}

// ParseStorageClass maps a storage class name to its dtype. It accepts the names
// torch.save writes ("FloatStorage", "CharStorage", "QInt8Storage", …), optionally
// prefixed by "torch." or "torch ", and the C++ names TorchScript uses
// ("Float8_e4m3fnStorage", "UInt16Storage", "ComplexHalfStorage", …).
// "UntypedStorage" maps to Uint8, as in PyTorch's loader.
func ParseStorageClass(name string) (DType, bool) {
	name = strings.TrimPrefix(strings.TrimPrefix(name, "torch."), "torch ")
	if name == "UntypedStorage" || name == "storage.UntypedStorage" {
		return Uint8, true
	}
	d, ok := byStorage[name]
	return d, ok
}

// ParseTorchName maps a PyTorch dtype name ("float32", "torch.float32", or an alias
// such as "half", "long", "cfloat") to its dtype.
func ParseTorchName(name string) (DType, bool) {
	d, ok := byTorchName[strings.TrimPrefix(name, "torch.")]
	return d, ok
}

// ParseSafetensorsName maps a safetensors dtype code ("F32", "BF16", …) to its dtype.
func ParseSafetensorsName(code string) (DType, bool) {
	d, ok := bySafetensors[code]
	return d, ok
}

// ParseNumpyDescr maps a little-endian or byte-order-free numpy descriptor ("<f4",
// "|b1", "i8", …) to its dtype. Big-endian descriptors (">f4") report false;
// use ParseNumpyDescrOrder to accept them.
func ParseNumpyDescr(descr string) (DType, bool) {
	d, ok := byNumpy[descr]
	return d, ok
}

// ParseNumpyDescrOrder is ParseNumpyDescr that also accepts big-endian
// descriptors, reporting them with bigEndian set.
func ParseNumpyDescrOrder(descr string) (d DType, bigEndian bool, ok bool) {
	if strings.HasPrefix(descr, ">") {
		d, ok = byNumpy["<"+descr[1:]]
		if !ok {
			d, ok = byNumpy["|"+descr[1:]]
			return d, false, ok
		}
		return d, d.Size() > 1, ok
	}
	d, ok = byNumpy[descr]
	return d, false, ok
}

// ElementsPerByte is the number of elements one byte holds: 2 for quint4x2, 4 for
// quint2x4 (PyTorch's packed sub-byte quantized dtypes, whose storages count bytes
// while their tensors count elements), 1 otherwise.
func (d DType) ElementsPerByte() int64 {
	switch d {
	case QUInt4x2:
		return 2
	case QUInt2x4:
		return 4
	}
	return 1
}

// NBytes is the number of bytes n contiguous elements of d occupy.
func (d DType) NBytes(n int64) int64 {
	if per := d.ElementsPerByte(); per > 1 {
		return (n + per - 1) / per
	}
	return n * int64(d.Size())
}
