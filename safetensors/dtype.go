package safetensors

import (
	"fmt"

	"github.com/pthkit/pth/tensor"
)

// dtypeInfo describes one safetensors dtype code.
type dtypeInfo struct {
	name string
	dt   tensor.DType
	size int64 // bytes per element; 0 for the sub-byte codes
	bits int64 // bits per element
	// rank is the position of the code in the Rust library's Dtype enum,
	// which is declared in increasing alignment order; the writer sorts by it.
	rank int
}

// dtypes lists every safetensors dtype code, ranked by the Rust enum
// (safetensors/src/tensor.rs): BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2,
// F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, I16, U16, F16, BF16, I32, U32,
// F32, C64, F64, I64, U64. The sub-byte codes F4, F6_E2M3 and F6_E3M2 have
// no PyTorch dtype (tensor.Invalid): files holding them are read and
// validated, their bytes are available through File.Data, but File.Tensor
// refuses them with ErrUnsupportedDType.
var dtypes = []dtypeInfo{
	{"BOOL", tensor.Bool, 1, 8, 0},
	{"F4", tensor.Invalid, 0, 4, 1},
	{"F6_E2M3", tensor.Invalid, 0, 6, 2},
	{"F6_E3M2", tensor.Invalid, 0, 6, 3},
	{"U8", tensor.Uint8, 1, 8, 4},
	{"I8", tensor.Int8, 1, 8, 5},
	{"F8_E5M2", tensor.Float8E5M2, 1, 8, 6},
	{"F8_E4M3", tensor.Float8E4M3FN, 1, 8, 7},
	{"F8_E8M0", tensor.Float8E8M0FNU, 1, 8, 8},
	{"F8_E4M3FNUZ", tensor.Float8E4M3FNUZ, 1, 8, 9},
	{"F8_E5M2FNUZ", tensor.Float8E5M2FNUZ, 1, 8, 10},
	{"I16", tensor.Int16, 2, 16, 11},
	{"U16", tensor.Uint16, 2, 16, 12},
	{"F16", tensor.Float16, 2, 16, 13},
	{"BF16", tensor.BFloat16, 2, 16, 14},
	{"I32", tensor.Int32, 4, 32, 15},
	{"U32", tensor.Uint32, 4, 32, 16},
	{"F32", tensor.Float32, 4, 32, 17},
	{"C64", tensor.Complex64, 8, 64, 18},
	{"F64", tensor.Float64, 8, 64, 19},
	{"I64", tensor.Int64, 8, 64, 20},
	{"U64", tensor.Uint64, 8, 64, 21},
}

var (
	byName  = map[string]*dtypeInfo{}
	byDType = map[tensor.DType]*dtypeInfo{}
)

func init() {
	for i := range dtypes {
		d := &dtypes[i]
		byName[d.name] = d
		if d.dt != tensor.Invalid {
			byDType[d.dt] = d
		}
	}
}

// DTypeOf returns the tensor dtype for a safetensors dtype code such as "BF16".
// Codes without a PyTorch dtype (F4, F6_E2M3, F6_E3M2) fail with
// ErrUnsupportedDType, unknown codes with ErrUnknownDType.
func DTypeOf(code string) (tensor.DType, error) {
	d, ok := byName[code]
	if !ok {
		return tensor.Invalid, fmt.Errorf("%w: %q", ErrUnknownDType, code)
	}
	if d.dt == tensor.Invalid {
		return tensor.Invalid, fmt.Errorf("%w: %s has no PyTorch dtype", ErrUnsupportedDType, code)
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
