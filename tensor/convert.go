package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// hostLittleEndian is true on little-endian machines, where a float32 storage's
// bytes can be viewed as []float32 in place.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

var le = binary.LittleEndian

func putFloat32s(b []byte, v []float32) {
	for i, x := range v {
		le.PutUint32(b[4*i:], math.Float32bits(x))
	}
}

func putFloat64s(b []byte, v []float64) {
	for i, x := range v {
		le.PutUint64(b[8*i:], math.Float64bits(x))
	}
}

func putInt64s(b []byte, v []int64) {
	for i, x := range v {
		le.PutUint64(b[8*i:], uint64(x))
	}
}

// realSource returns the tensor's contiguous bytes if its dtype is real (not
// complex or quantized), else an ErrDType error naming the operation.
func (t *Tensor) realSource(op string) ([]byte, error) {
	if t.DType.IsComplex() || t.DType.IsQuantized() || !t.DType.Valid() {
		return nil, fmt.Errorf("%w: %s of a %s tensor", ErrDType, op, t.DType)
	}
	return t.ContiguousBytes()
}

// aliasFloat32 views b as []float32 when the host is little-endian and b is aligned.
func aliasFloat32(b []byte) ([]float32, bool) {
	if !hostLittleEndian || len(b)%4 != 0 {
		return nil, false
	}
	if len(b) == 0 {
		return []float32{}, true
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), true
}

// Float32s returns the elements in row-major order as float32, converting from any
// real dtype (integers and float64 round to nearest; bool gives 0 or 1).
//
// For a float32 tensor on a little-endian machine the result may alias the
// storage's memory (no copy; never for a conjugate or negative view, whose
// values are computed): do not modify it unless you own the storage, and
// do not expect it to stay valid after the storage's file is unmapped.
func (t *Tensor) Float32s() ([]float32, error) {
	b, err := t.realSource("Float32s")
	if err != nil {
		return nil, err
	}
	if t.DType == Float32 {
		if v, ok := aliasFloat32(b); ok {
			return v, nil
		}
	}
	out := make([]float32, len(b)/t.DType.Size())
	decodeFloat32(out, t.DType, b)
	return out, nil
}

// decodeFloat32 converts little-endian elements of a real dtype to float32.
func decodeFloat32(out []float32, dt DType, b []byte) {
	switch dt {
	case Float32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case Float64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case Float16:
		tab := f16Table()
		if w := words[uint16](b); w != nil && hostLittleEndian {
			for i, h := range w[:len(out)] {
				out[i] = tab[h]
			}
			return
		}
		for i := range out {
			out[i] = tab[le.Uint16(b[2*i:])]
		}
	case BFloat16:
		if w := words[uint16](b); w != nil && hostLittleEndian {
			for i, h := range w[:len(out)] {
				out[i] = math.Float32frombits(uint32(h) << 16)
			}
			return
		}
		for i := range out {
			out[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		}
	case Float8E5M2, Float8E4M3FN, Float8E5M2FNUZ, Float8E4M3FNUZ, Float8E8M0FNU:
		tab := float8Table(dt)
		for i := range out {
			out[i] = tab[b[i]]
		}
	case Int64:
		for i := range out {
			out[i] = float32(int64(le.Uint64(b[8*i:]))) // one rounding, as C's cast
		}
	case Uint64:
		for i := range out {
			out[i] = float32(le.Uint64(b[8*i:]))
		}
	default: // the rest are exact in float64, so this rounds once
		for i := range out {
			out[i] = float32(elemFloat64(dt, b, i))
		}
	}
}

func float8Table(dt DType) *[256]float32 {
	switch dt {
	case Float8E5M2:
		return e5m2Table
	case Float8E4M3FN:
		return e4m3fnTable
	case Float8E5M2FNUZ:
		return e5m2fnuzTable
	case Float8E4M3FNUZ:
		return e4m3fnuzTable
	}
	return e8m0Table
}

// elemFloat64 returns element i of a real dtype as float64 (exact for every
// dtype but int64/uint64 beyond 2^53, which round to nearest).
func elemFloat64(dt DType, b []byte, i int) float64 {
	switch dt {
	case Float32:
		return float64(math.Float32frombits(le.Uint32(b[4*i:])))
	case Float64:
		return math.Float64frombits(le.Uint64(b[8*i:]))
	case Float16:
		return float64(f16Table()[le.Uint16(b[2*i:])])
	case BFloat16:
		return float64(math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16))
	case Float8E5M2, Float8E4M3FN, Float8E5M2FNUZ, Float8E4M3FNUZ, Float8E8M0FNU:
		return float64(float8Table(dt)[b[i]])
	case Int8:
		return float64(int8(b[i]))
	case Uint8:
		return float64(b[i])
	case Bool:
		if b[i] != 0 {
			return 1
		}
		return 0
	case Int16:
		return float64(int16(le.Uint16(b[2*i:])))
	case Uint16:
		return float64(le.Uint16(b[2*i:]))
	case Int32:
		return float64(int32(le.Uint32(b[4*i:])))
	case Uint32:
		return float64(le.Uint32(b[4*i:]))
	case Int64:
		return float64(int64(le.Uint64(b[8*i:])))
	case Uint64:
		return float64(le.Uint64(b[8*i:]))
	}
	return math.NaN()
}

// Float64s returns the elements in row-major order as a new []float64, converting
// from any real dtype.
func (t *Tensor) Float64s() ([]float64, error) {
	b, err := t.realSource("Float64s")
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(b)/t.DType.Size())
	for i := range out {
		out[i] = elemFloat64(t.DType, b, i)
	}
	return out, nil
}

// elemInt64 returns element i of an integer or bool dtype as int64
// (uint64 values above 2^63−1 wrap, as in PyTorch's .long()).
func elemInt64(dt DType, b []byte, i int) (int64, bool) {
	switch dt {
	case Int8:
		return int64(int8(b[i])), true
	case Uint8:
		return int64(b[i]), true
	case Bool:
		if b[i] != 0 {
			return 1, true
		}
		return 0, true
	case Int16:
		return int64(int16(le.Uint16(b[2*i:]))), true
	case Uint16:
		return int64(le.Uint16(b[2*i:])), true
	case Int32:
		return int64(int32(le.Uint32(b[4*i:]))), true
	case Uint32:
		return int64(le.Uint32(b[4*i:])), true
	case Int64, Uint64:
		return int64(le.Uint64(b[8*i:])), true
	}
	return 0, false
}

// Int64s returns the elements in row-major order as a new []int64. Integer and
// bool dtypes convert exactly (uint64 wraps); floating-point values truncate
// toward zero, NaN gives 0 and out-of-range values saturate.
func (t *Tensor) Int64s() ([]int64, error) {
	b, err := t.realSource("Int64s")
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(b)/t.DType.Size())
	if t.DType.IsFloatingPoint() {
		for i := range out {
			out[i] = truncInt64(elemFloat64(t.DType, b, i))
		}
		return out, nil
	}
	for i := range out {
		out[i], _ = elemInt64(t.DType, b, i)
	}
	return out, nil
}

func truncInt64(f float64) int64 {
	switch {
	case f != f:
		return 0
	case f >= 9223372036854775807:
		return math.MaxInt64
	case f <= -9223372036854775808:
		return math.MinInt64
	}
	return int64(f)
}

// Int32s returns the elements as a new []int32, converting like Int64s and then
// truncating to 32 bits (as a C cast does).
func (t *Tensor) Int32s() ([]int32, error) {
	v, err := t.Int64s()
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out, nil
}

// Bools returns the elements as a new []bool: true for every non-zero value
// (NaN included, as in PyTorch's .bool()).
func (t *Tensor) Bools() ([]bool, error) {
	b, err := t.realSource("Bools")
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(b)/t.DType.Size())
	if t.DType.IsFloatingPoint() {
		for i := range out {
			out[i] = elemFloat64(t.DType, b, i) != 0
		}
		return out, nil
	}
	es := t.DType.Size()
	for i := range out {
		for _, c := range b[i*es : (i+1)*es] {
			if c != 0 {
				out[i] = true
				break
			}
		}
	}
	return out, nil
}

// Convert returns a new contiguous tensor of dtype dt holding t's values, rounded
// to nearest even as PyTorch's .to(dtype) does. Supported targets are the real
// floating-point dtypes (float32, float64, float16, bfloat16 and the float8
// variants); the source may be any real dtype. Float64 sources convert to the
// 16- and 8-bit formats through float32, as c10 does. If t already has dtype dt
// the result is a contiguous copy. A negative view's values are converted
// (the result has no Neg bit). RequiresGrad is kept. NaNs become the NaN
// PyTorch 1.13 produces on x86 CPUs for the same conversion (for bfloat16, 0xffff
// from float32 sources, 0x7fc0 from others).
func (t *Tensor) Convert(dt DType) (*Tensor, error) {
	if !dt.IsFloatingPoint() {
		return nil, fmt.Errorf("%w: converting to %s", ErrDType, dt)
	}
	var out []byte
	switch {
	case t.DType == dt:
		b, err := t.ContiguousBytes()
		if err != nil {
			return nil, err
		}
		out = bytes.Clone(b)
	case dt == Float64:
		v, err := t.Float64s()
		if err != nil {
			return nil, err
		}
		out = make([]byte, 8*len(v))
		putFloat64s(out, v)
	default:
		v, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		out = make([]byte, len(v)*dt.Size())
		encodeFloat32(out, dt, v, t.DType == Float32)
	}
	r, err := FromBytes(dt, t.Shape, out)
	if err != nil {
		return nil, err
	}
	r.RequiresGrad = t.RequiresGrad
	r.Storage.Location = t.Storage.Location
	return r, nil
}

// encodeFloat32 writes v as little-endian elements of a floating-point dtype
// other than float64. fromFloat32 selects PyTorch's vectorised float32→bfloat16
// NaN (0xffff) rather than the scalar one (0x7fc0) its other conversions give.
func encodeFloat32(out []byte, dt DType, v []float32, fromFloat32 bool) {
	switch dt {
	case Float32:
		putFloat32s(out, v)
	case Float16:
		for i, x := range v {
			le.PutUint16(out[2*i:], Float32ToFloat16(x))
		}
	case BFloat16:
		nan := uint16(0x7fc0)
		if fromFloat32 {
			nan = 0xffff
		}
		for i, x := range v {
			le.PutUint16(out[2*i:], bfloat16With(x, nan))
		}
	case Float8E5M2:
		for i, x := range v {
			out[i] = Float32ToFloat8E5M2(x)
		}
	case Float8E4M3FN:
		for i, x := range v {
			out[i] = Float32ToFloat8E4M3FN(x)
		}
	case Float8E5M2FNUZ:
		for i, x := range v {
			out[i] = Float32ToFloat8E5M2FNUZ(x)
		}
	case Float8E4M3FNUZ:
		for i, x := range v {
			out[i] = Float32ToFloat8E4M3FNUZ(x)
		}
	case Float8E8M0FNU:
		for i, x := range v {
			out[i] = Float32ToFloat8E8M0(x)
		}
	}
}
