package tensor

import (
	"bytes"
	"fmt"
)

// HasConjNeg reports whether t is a conjugate or negative view (Conj or Neg
// set): its values are not its storage's bytes, and no accessor hands them out
// without a copy.
func (t *Tensor) HasConjNeg() bool { return t.Conj || t.Neg }

// canNegate reports whether a negative view of dt has values: PyTorch's neg
// exists for every real and complex number type but bool, quantized types and
// float8_e8m0fnu (which has no sign). The float8 types are negated by their
// sign (PyTorch 2.6 has no neg kernel for them; their sign bit is well defined).
func canNegate(dt DType) bool {
	switch {
	case dt == Bool, dt == Float8E8M0FNU, dt.IsQuantized(), !dt.Valid():
		return false
	}
	return true
}

// checkFlags reports a conjugate bit on a dtype that is not complex (PyTorch
// refuses to set one) or a negative bit on a dtype that cannot be negated.
func (t *Tensor) checkFlags() error {
	if t.Conj && !t.DType.IsComplex() {
		return fmt.Errorf("%w: conjugate bit on a %s tensor (only complex tensors have one)", ErrDType, t.DType)
	}
	if t.Neg && !canNegate(t.DType) {
		return fmt.Errorf("%w: negative bit on a %s tensor (it has no negation)", ErrDType, t.DType)
	}
	return nil
}

// Resolve returns a tensor holding t's values with the conjugate and negative
// bits applied, as PyTorch's t.resolve_conj().resolve_neg(): a new contiguous
// tensor without either bit when t has one, t itself otherwise. RequiresGrad
// and the storage's location are kept.
func (t *Tensor) Resolve() (*Tensor, error) {
	if !t.HasConjNeg() {
		return t, nil
	}
	b, err := t.ContiguousBytes()
	if err != nil {
		return nil, err
	}
	r, err := FromBytes(t.DType, t.Shape, b)
	if err != nil {
		return nil, err
	}
	r.RequiresGrad = t.RequiresGrad
	r.Storage.Location = t.Storage.Location
	return r, nil
}

// resolveFlags returns b (row-major little-endian elements of t) with t's
// conjugate and negative bits applied. owned says whether b may be modified;
// if not, it is copied first.
func (t *Tensor) resolveFlags(b []byte, owned bool) []byte {
	if !t.HasConjNeg() {
		return b
	}
	if !owned {
		b = bytes.Clone(b)
	}
	applyFlags(b, t.DType, t.Conj, t.Neg)
	return b
}

// applyFlags negates, in place, the elements of b (dtype dt) when neg is set
// and the imaginary parts of complex elements when conj is set:
//
//   - floating point (float64 … float16, bfloat16, float8_e5m2, float8_e4m3fn)
//     and each part of a complex number: the sign bit flips, as IEEE negation
//     and PyTorch's vectorised neg kernel do (zeros become -0.0, NaNs keep
//     their payload; PyTorch's scalar kernel, used for the few elements past
//     its last full vector, may return a NaN with other payload bits);
//   - the fnuz float8 types, which have no -0.0: the sign flips except for
//     0x00 (zero stays zero) and 0x80 (the NaN stays NaN);
//   - integers, signed or unsigned: two's-complement negation modulo 2^bits
//     (-(-128) is -128 in int8, -(1) is 255 in uint8), as PyTorch computes.
//
// dt must pass checkFlags.
func applyFlags(b []byte, dt DType, conj, neg bool) {
	size := dt.Size()
	switch {
	case dt.IsComplex():
		part := size / 2
		flipRe, flipIm := neg, neg != conj
		for i := 0; i+size <= len(b); i += size {
			if flipRe {
				b[i+part-1] ^= 0x80
			}
			if flipIm {
				b[i+size-1] ^= 0x80
			}
		}
	case !neg:
	case dt == Float8E5M2FNUZ || dt == Float8E4M3FNUZ:
		for i, v := range b {
			if v&0x7f != 0 {
				b[i] = v ^ 0x80
			}
		}
	case dt.IsFloatingPoint():
		for i := size - 1; i < len(b); i += size {
			b[i] ^= 0x80
		}
	default: // integers
		switch size {
		case 1:
			for i, v := range b {
				b[i] = -v
			}
		case 2:
			for i := 0; i+2 <= len(b); i += 2 {
				le.PutUint16(b[i:], -le.Uint16(b[i:]))
			}
		case 4:
			for i := 0; i+4 <= len(b); i += 4 {
				le.PutUint32(b[i:], -le.Uint32(b[i:]))
			}
		case 8:
			for i := 0; i+8 <= len(b); i += 8 {
				le.PutUint64(b[i:], -le.Uint64(b[i:]))
			}
		}
	}
}
