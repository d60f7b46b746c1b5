package tensor

import (
	"fmt"
)

// Dequantize returns a new contiguous float32 tensor holding t's real values,
// computed as PyTorch 1.13's dequantize() does on CPU:
//
//   - per_tensor_affine: float32(q − zero_point) · float32(scale), in float32;
//   - per_channel_affine: float32((q − zero_points[c]) · scales[c]), in float64,
//     c being the element's index along Axis.
//
// t must be qint8, quint8 or qint32 with Quant set. The packed sub-byte dtypes
// (quint4x2, quint2x4) and per_channel_affine_float_qparams are not supported
// yet (ErrDType).
func (t *Tensor) Dequantize() (*Tensor, error) {
	if t.Quant == nil {
		return nil, fmt.Errorf("%w: Dequantize of a %s tensor without quantization parameters", ErrDType, t.DType)
	}
	var q func(b []byte, i int) int64
	switch t.DType {
	case QInt8:
		q = func(b []byte, i int) int64 { return int64(int8(b[i])) }
	case QUInt8:
		q = func(b []byte, i int) int64 { return int64(b[i]) }
	case QInt32:
		q = func(b []byte, i int) int64 { return int64(int32(le.Uint32(b[4*i:]))) }
	default:
		return nil, fmt.Errorf("%w: Dequantize of %s", ErrDType, t.DType)
	}
	b, err := t.ContiguousBytes()
	if err != nil {
		return nil, err
	}
	n := len(b) / t.DType.Size()
	out := make([]float32, n)
	switch t.Quant.Scheme {
	case "per_tensor_affine", "per_tensor_symmetric":
		scale, zp := float32(t.Quant.Scale), t.Quant.ZeroPoint
		for i := range out {
			out[i] = float32(q(b, i)-zp) * scale
		}
	case "per_channel_affine", "per_channel_symmetric":
		axis := t.Quant.Axis
		if axis < 0 || axis >= len(t.Shape) {
			return nil, fmt.Errorf("%w: quantization axis %d of a %d-d tensor", ErrShape, axis, len(t.Shape))
		}
		if t.Quant.Scales == nil || t.Quant.ZeroPoints == nil {
			return nil, fmt.Errorf("%w: per-channel tensor without scales or zero points", ErrDType)
		}
		scales, err := t.Quant.Scales.Float64s()
		if err != nil {
			return nil, err
		}
		zps, err := t.Quant.ZeroPoints.Int64s()
		if err != nil {
			return nil, err
		}
		channels := t.Shape[axis]
		if int64(len(scales)) != channels || int64(len(zps)) != channels {
			return nil, fmt.Errorf("%w: %d scales and %d zero points for %d channels", ErrShape, len(scales), len(zps), channels)
		}
		inner := int64(1)
		for _, d := range t.Shape[axis+1:] {
			inner *= d
		}
		for i := range out {
			c := int64(i) / inner % channels
			out[i] = float32(float64(q(b, i)-zps[c]) * scales[c])
		}
	default:
		return nil, fmt.Errorf("%w: Dequantize with scheme %q", ErrDType, t.Quant.Scheme)
	}
	r := FromFloat32(t.Shape, out)
	r.Storage.Location = t.Storage.Location
	return r, nil
}
