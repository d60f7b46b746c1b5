package gguf

import (
	"fmt"

	"github.com/pthkit/pth/tensor"
)

// Type is a ggml tensor type (ggml_type).
type Type uint32

// The ggml types pth knows. Values are the on-disk ids.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
)

type typeInfo struct {
	name      string
	blockSize int64 // elements per block
	typeSize  int64 // bytes per block
	dtype     tensor.DType
}

// typeTable is gguf-py's GGML_QUANT_SIZES (gguf-py/gguf/constants.py), with
// the PyTorch dtype of the unquantized types.
var typeTable = map[Type]typeInfo{
	F32:     {"F32", 1, 4, tensor.Float32},
	F16:     {"F16", 1, 2, tensor.Float16},
	Q4_0:    {"Q4_0", 32, 2 + 16, tensor.Invalid},
	Q4_1:    {"Q4_1", 32, 2 + 2 + 16, tensor.Invalid},
	Q5_0:    {"Q5_0", 32, 2 + 4 + 16, tensor.Invalid},
	Q5_1:    {"Q5_1", 32, 2 + 2 + 4 + 16, tensor.Invalid},
	Q8_0:    {"Q8_0", 32, 2 + 32, tensor.Invalid},
	Q8_1:    {"Q8_1", 32, 4 + 4 + 32, tensor.Invalid},
	Q2_K:    {"Q2_K", 256, 2 + 2 + 256/16 + 256/4, tensor.Invalid},
	Q3_K:    {"Q3_K", 256, 2 + 256/4 + 256/8 + 12, tensor.Invalid},
	Q4_K:    {"Q4_K", 256, 2 + 2 + 256/2 + 12, tensor.Invalid},
	Q5_K:    {"Q5_K", 256, 2 + 2 + 256/2 + 256/8 + 12, tensor.Invalid},
	Q6_K:    {"Q6_K", 256, 2 + 256/2 + 256/4 + 256/16, tensor.Invalid},
	Q8_K:    {"Q8_K", 256, 4 + 256 + 256/8, tensor.Invalid},
	IQ2_XXS: {"IQ2_XXS", 256, 2 + 256/4, tensor.Invalid},
	IQ2_XS:  {"IQ2_XS", 256, 2 + 256/4 + 256/32, tensor.Invalid},
	IQ3_XXS: {"IQ3_XXS", 256, 2 + 3*256/8, tensor.Invalid},
	IQ1_S:   {"IQ1_S", 256, 2 + 256/8 + 256/16, tensor.Invalid},
	IQ4_NL:  {"IQ4_NL", 32, 2 + 32/2, tensor.Invalid},
	IQ3_S:   {"IQ3_S", 256, 2 + 256/4 + 256/32 + 256/8 + 256/64, tensor.Invalid},
	IQ2_S:   {"IQ2_S", 256, 2 + 256/4 + 256/32 + 256/32, tensor.Invalid},
	IQ4_XS:  {"IQ4_XS", 256, 2 + 2 + 256/64 + 256/2, tensor.Invalid},
	I8:      {"I8", 1, 1, tensor.Int8},
	I16:     {"I16", 1, 2, tensor.Int16},
	I32:     {"I32", 1, 4, tensor.Int32},
	I64:     {"I64", 1, 8, tensor.Int64},
	F64:     {"F64", 1, 8, tensor.Float64},
	IQ1_M:   {"IQ1_M", 256, 256/8 + 256/16 + 256/32, tensor.Invalid},
	BF16:    {"BF16", 1, 2, tensor.BFloat16},
	TQ1_0:   {"TQ1_0", 256, 2 + 4*13, tensor.Invalid},
	TQ2_0:   {"TQ2_0", 256, 2 + 64, tensor.Invalid},
	MXFP4:   {"MXFP4", 32, 1 + 16, tensor.Invalid},
}

// String returns the type's name ("Q8_0"), or "type(N)" when unknown.
func (t Type) String() string {
	if i, ok := typeTable[t]; ok {
		return i.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Known reports whether t is in pth's table.
func (t Type) Known() bool { _, ok := typeTable[t]; return ok }

// BlockSize returns the number of elements per block (1 for unquantized types).
func (t Type) BlockSize() int64 { return typeTable[t].blockSize }

// TypeSize returns the number of bytes per block.
func (t Type) TypeSize() int64 { return typeTable[t].typeSize }

// Quantized reports whether t is a block-quantized type pth does not decode.
func (t Type) Quantized() bool { i, ok := typeTable[t]; return ok && i.dtype == tensor.Invalid }

// DType returns the PyTorch dtype of an unquantized type, or tensor.Invalid.
func (t Type) DType() tensor.DType { return typeTable[t].dtype }

// TypeOf returns the ggml type holding dt unquantized.
func TypeOf(dt tensor.DType) (Type, error) {
	for t, i := range typeTable {
		if i.dtype == dt && dt != tensor.Invalid {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: %v", ErrUnsupportedDType, dt)
}

// ValueType is the type of a metadata value (gguf_metadata_value_type).
type ValueType uint32

// Metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the type's name as gguf.md spells it in lower case.
func (v ValueType) String() string {
	if int(v) < len(valueTypeNames) {
		return valueTypeNames[v]
	}
	return fmt.Sprintf("value_type(%d)", uint32(v))
}

// size returns the encoded size of a fixed-size value type, or 0.
func (v ValueType) size() int64 {
	switch v {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}
