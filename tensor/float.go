package tensor

import (
	"math"
	"math/bits"
	"sync"
)

// minifloat describes one of the small binary float formats PyTorch stores.
// Every format here is narrower than float32, so decoding to float32 is exact.
type minifloat struct {
	ebits, mbits uint
	bias         int
	kind         floatKind
}

type floatKind uint8

const (
	// ieeeKind: IEEE 754 style, with infinities, NaNs (exponent all ones) and signed zeros.
	ieeeKind floatKind = iota
	// fnKind: no infinities; the one NaN per sign is the all-ones pattern (float8_e4m3fn).
	// Overflow and ±inf become NaN, as in PyTorch (no saturation).
	fnKind
	// fnuzKind: no infinities and no negative zero; the only NaN is 0x80
	// (float8_e5m2fnuz, float8_e4m3fnuz). Overflow and ±inf become NaN.
	fnuzKind
)

var (
	fmtFloat16      = minifloat{ebits: 5, mbits: 10, bias: 15, kind: ieeeKind}
	fmtE5M2         = minifloat{ebits: 5, mbits: 2, bias: 15, kind: ieeeKind}
	fmtE4M3FN       = minifloat{ebits: 4, mbits: 3, bias: 7, kind: fnKind}
	fmtE5M2FNUZ     = minifloat{ebits: 5, mbits: 2, bias: 16, kind: fnuzKind}
	fmtE4M3FNUZ     = minifloat{ebits: 4, mbits: 3, bias: 8, kind: fnuzKind}
	float32NaN      = math.Float32frombits(0x7fc00000)
	float32NegNaN   = math.Float32frombits(0xffc00000)
	float16Table    []float32
	float16TableOne sync.Once
)

// signShift is the position of the sign bit.
func (m minifloat) signShift() uint { return m.ebits + m.mbits }

// maxFinite is the largest finite magnitude's bit pattern.
func (m minifloat) maxFinite() uint32 {
	expMax := uint32(1)<<m.ebits - 1
	switch m.kind {
	case ieeeKind:
		return expMax<<m.mbits - 1
	case fnKind:
		return expMax<<m.mbits | (1<<m.mbits - 2)
	default:
		return expMax<<m.mbits | (1<<m.mbits - 1)
	}
}

// nan returns the format's NaN pattern for a value of the given sign.
func (m minifloat) nan(neg bool) uint32 {
	switch m.kind {
	case fnuzKind:
		return 1 << m.signShift()
	case fnKind:
		v := uint32(1)<<m.signShift() - 1
		if neg {
			v |= 1 << m.signShift()
		}
		return v
	default: // quiet NaN: exponent all ones, top mantissa bit set
		v := (uint32(1)<<m.ebits-1)<<m.mbits | 1<<(m.mbits-1)
		if neg {
			v |= 1 << m.signShift()
		}
		return v
	}
}

// roundShift returns v >> s rounded to nearest, ties to even.
func roundShift(v uint32, s uint) uint32 {
	if s == 0 {
		return v
	}
	if s > 32 {
		return 0
	}
	q := uint32(uint64(v) >> s)
	rem := uint64(v) & (1<<s - 1)
	half := uint64(1) << (s - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// encode converts f to the format's bit pattern, rounding to nearest even.
// It follows PyTorch's c10 conversions: IEEE formats overflow to infinity, the
// fn/fnuz float8 formats overflow (and map ±inf) to NaN, fnuz has no -0.
func (m minifloat) encode(f float32) uint32 {
	b := math.Float32bits(f)
	neg := b>>31 != 0
	b &^= 1 << 31
	var sign uint32
	if neg {
		sign = 1 << m.signShift()
	}
	switch {
	case b > 0x7f800000:
		return m.nan(neg)
	case b == 0x7f800000:
		if m.kind == ieeeKind {
			return sign | (uint32(1)<<m.ebits-1)<<m.mbits
		}
		return m.nan(neg)
	case b == 0:
		if m.kind == fnuzKind {
			return 0
		}
		return sign
	}
	e := int(b >> 23)
	mant := b & 0x7fffff
	if e == 0 { // float32 subnormal: normalise
		lz := bits.LeadingZeros32(mant) - 8 // shift that puts the top bit at bit 23
		mant <<= uint(lz)
		e = 1 - lz
	} else {
		mant |= 1 << 23
	}
	exp := e - 127 // value = mant * 2^(exp-23), mant in [2^23, 2^24)
	emin := 1 - m.bias
	var out uint32
	if exp >= emin {
		q := roundShift(mant, 23-m.mbits) // in [2^mbits, 2^(mbits+1)]
		ebiased := exp + m.bias
		if ebiased >= 1<<m.ebits { // far out of range; avoid overflowing the arithmetic
			out = m.maxFinite() + 1
		} else {
			out = uint32(ebiased)<<m.mbits + q - 1<<m.mbits
		}
	} else {
		// Subnormal: count units of 2^(emin-mbits); a carry into the exponent
		// field yields the smallest normal, which is right.
		out = roundShift(mant, uint(23-int(m.mbits)+emin-exp))
	}
	if out > m.maxFinite() {
		if m.kind == ieeeKind {
			return sign | (uint32(1)<<m.ebits-1)<<m.mbits
		}
		return m.nan(neg)
	}
	if out == 0 && m.kind == fnuzKind {
		return 0
	}
	return sign | out
}

// decode converts a bit pattern of the format to float32 exactly.
// NaNs decode to a quiet float32 NaN of the same sign, keeping IEEE payload bits
// where the format has them.
func (m minifloat) decode(v uint32) float32 {
	neg := v>>m.signShift()&1 != 0
	mag := v & (1<<m.signShift() - 1)
	expField := mag >> m.mbits
	mant := mag & (1<<m.mbits - 1)
	switch m.kind {
	case fnuzKind:
		if neg && mag == 0 {
			return float32NaN
		}
	case fnKind:
		if mag == 1<<m.signShift()-1 {
			if neg {
				return float32NegNaN
			}
			return float32NaN
		}
	default:
		if expField == 1<<m.ebits-1 {
			out := uint32(0x7f800000) | mant<<(23-m.mbits)
			if mant != 0 {
				out |= 1 << 22 // NaNs come out quiet, as in PyTorch
			}
			if neg {
				out |= 1 << 31
			}
			return math.Float32frombits(out)
		}
	}
	var x float64
	if expField == 0 {
		x = math.Ldexp(float64(mant), 1-m.bias-int(m.mbits))
	} else {
		x = math.Ldexp(float64(mant|1<<m.mbits), int(expField)-m.bias-int(m.mbits))
	}
	if neg {
		x = -x
	}
	return float32(x)
}

func makeTable(m minifloat) *[256]float32 {
	var t [256]float32
	for i := range t {
		t[i] = m.decode(uint32(i))
	}
	return &t
}

var (
	e5m2Table     = makeTable(fmtE5M2)
	e4m3fnTable   = makeTable(fmtE4M3FN)
	e5m2fnuzTable = makeTable(fmtE5M2FNUZ)
	e4m3fnuzTable = makeTable(fmtE4M3FNUZ)
	e8m0Table     = func() *[256]float32 {
		var t [256]float32
		for i := range t {
			t[i] = Float8E8M0ToFloat32(uint8(i))
		}
		return &t
	}()
)

func f16Table() []float32 {
	float16TableOne.Do(func() {
		float16Table = make([]float32, 1<<16)
		for i := range float16Table {
			float16Table[i] = fmtFloat16.decode(uint32(i))
		}
	})
	return float16Table
}

// Float16ToFloat32 converts IEEE binary16 bits to float32 (exact).
func Float16ToFloat32(h uint16) float32 { return f16Table()[h] }

// Float32ToFloat16 converts f to IEEE binary16 bits, rounding to nearest even;
// overflow gives ±inf and NaN gives a quiet NaN of the same sign (0x7e00), as PyTorch.
func Float32ToFloat16(f float32) uint16 { return uint16(fmtFloat16.encode(f)) }

// BFloat16ToFloat32 converts bfloat16 bits (the high half of a float32) to float32.
func BFloat16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBFloat16 converts f to bfloat16 bits, rounding to nearest even.
// Every NaN gives 0xffff, as PyTorch's vectorised CPU conversion of a float32
// tensor (tensor.to(torch.bfloat16)) does; c10's scalar c10::BFloat16, which
// PyTorch uses from other dtypes, gives 0x7fc0 (see Tensor.Convert).
func Float32ToBFloat16(f float32) uint16 { return bfloat16With(f, 0xffff) }

func bfloat16With(f float32, nan uint16) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return nan
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// Float8E5M2ToFloat32 converts float8_e5m2 bits to float32.
func Float8E5M2ToFloat32(v uint8) float32 { return e5m2Table[v] }

// Float32ToFloat8E5M2 converts f to float8_e5m2 (IEEE-like: overflow gives ±inf).
func Float32ToFloat8E5M2(f float32) uint8 { return uint8(fmtE5M2.encode(f)) }

// Float8E4M3FNToFloat32 converts float8_e4m3fn bits to float32 (0x7f/0xff are NaN).
func Float8E4M3FNToFloat32(v uint8) float32 { return e4m3fnTable[v] }

// Float32ToFloat8E4M3FN converts f to float8_e4m3fn. Values whose magnitude rounds
// above 448, and ±inf, become NaN, as in PyTorch (which does not saturate).
func Float32ToFloat8E4M3FN(f float32) uint8 { return uint8(fmtE4M3FN.encode(f)) }

// Float8E5M2FNUZToFloat32 converts float8_e5m2fnuz bits to float32 (0x80 is NaN).
func Float8E5M2FNUZToFloat32(v uint8) float32 { return e5m2fnuzTable[v] }

// Float32ToFloat8E5M2FNUZ converts f to float8_e5m2fnuz; overflow, ±inf and NaN give 0x80.
func Float32ToFloat8E5M2FNUZ(f float32) uint8 { return uint8(fmtE5M2FNUZ.encode(f)) }

// Float8E4M3FNUZToFloat32 converts float8_e4m3fnuz bits to float32 (0x80 is NaN).
func Float8E4M3FNUZToFloat32(v uint8) float32 { return e4m3fnuzTable[v] }

// Float32ToFloat8E4M3FNUZ converts f to float8_e4m3fnuz; overflow, ±inf and NaN give 0x80.
func Float32ToFloat8E4M3FNUZ(f float32) uint8 { return uint8(fmtE4M3FNUZ.encode(f)) }

// Float8E8M0ToFloat32 converts float8_e8m0fnu bits (an unsigned power of two,
// 2^(v-127)) to float32; 0xff is NaN.
func Float8E8M0ToFloat32(v uint8) float32 {
	if v == 0xff {
		return float32NaN
	}
	if v == 0 {
		return math.Float32frombits(1 << 22) // 2^-127, a float32 subnormal
	}
	return math.Float32frombits(uint32(v) << 23)
}

// Float32ToFloat8E8M0 converts f to float8_e8m0fnu as PyTorch does: the sign is
// ignored, the exponent is rounded to nearest even on the mantissa, NaN and ±inf
// give 0xff.
func Float32ToFloat8E8M0(f float32) uint8 {
	b := math.Float32bits(f)
	exp := b >> 23 & 0xff
	if exp == 0xff {
		return 0xff
	}
	g := b&0x400000 != 0
	r := b&0x200000 != 0
	s := b&0x1fffff != 0
	lsb := exp > 0
	if g && (r || s || lsb) {
		exp++
	}
	return uint8(exp)
}
