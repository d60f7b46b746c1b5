package safetensors

import (
	"fmt"

	"github.com/pthkit/pth/tensor"
)

// dtypeInfo describes one safetensors dtype code.
type dtypeInfo struct {
	name string
	dt   tensor.DType
	size int64
	// rank is the position of the code in the Rust library's Dtype enum,
	// which is declared in increasing alignment order; the writer sorts by it.
	rank int
}

// dtypes lists every safetensors dtype pth can represent as a tensor.DType,
// ranked by the Rust enum (safetensors/src/tensor.rs): BOOL, F4, F6_E2M3,
// F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, I16,
// U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64. The sub-byte codes F4,
// F6_E2M3 and F6_E3M2 have no PyTorch dtype and are refused with
// ErrUnknownDType.
var dtypes = []dtypeInfo{
	{"BOOL", tensor.Bool, 1, 0},
	{"U8", tensor.Uint8, 1, 4},
	{"I8", tensor.Int8, 1, 5},
	{"F8_E5M2", tensor.Float8E5M2, 1, 6},
	{"F8_E4M3", tensor.Float8E4M3FN, 1, 7},
	{"F8_E8M0", tensor.Float8E8M0FNU, 1, 8},
	{"F8_E4M3FNUZ", tensor.Float8E4M3FNUZ, 1, 9},
	{"F8_E5M2FNUZ", tensor.Float8E5M2FNUZ, 1, 10},
	{"I16", tensor.Int16, 2, 11},
	{"U16", tensor.Uint16, 2, 12},
	{"F16", tensor.Float16, 2, 13},
	{"BF16", tensor.BFloat16, 2, 14},
	{"I32", tensor.Int32, 4, 15},
	{"U32", tensor.Uint32, 4, 16},
	{"F32", tensor.Float32, 4, 17},
	{"C64", tensor.Complex64, 8, 18},
	{"F64", tensor.Float64, 8, 19},
	{"I64", tensor.Int64, 8, 20},
	{"U64", tensor.Uint64, 8, 21},
}

var (
	byName  = map[string]*dtypeInfo{}
	byDType = map[tensor.DType]*dtypeInfo{}
)

func init() {
	for i := range dtypes {
		d := &dtypes[i]
		byName[d.name] = d
		byDType[d.dt] = d
	}
}

// DTypeOf returns the tensor dtype for a safetensors dtype code such as "BF16".
func DTypeOf(code string) (tensor.DType, error) {
	d, ok := byName[code]
	if !ok {
		return tensor.Invalid, fmt.Errorf("%w: %q", ErrUnknownDType, code)
	}
	return d.dt, nil
}

// Code returns the safetensors dtype code for dt ("F32", "BF16", …).
// It fails with ErrUnsupportedDType for dtypes safetensors cannot hold
// (complex32/128, quantized types).
func Code(dt tensor.DType) (string, error) {
	d, ok := byDType[dt]
	if !ok {
		return "", fmt.Errorf("%w: dtype %d", ErrUnsupportedDType, dt)
	}
	return d.name, nil
}

// ElemSize returns the size in bytes of one element of dt, or 0 when
// safetensors cannot hold dt.
func ElemSize(dt tensor.DType) int64 {
	if d, ok := byDType[dt]; ok {
		return d.size
	}
	return 0
}
