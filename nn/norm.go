package nn

import (
	"fmt"
	"math"

	"github.com/pthkit/pth/tensor"
)

// BatchNorm is torch.nn.BatchNorm1d / BatchNorm2d (the class name tells which):
// per-channel normalisation over the batch (and spatial) dimensions, with
// running statistics updated in training mode and used in evaluation mode.
type BatchNorm struct {
	ModuleBase
	NumFeatures       int
	Eps               float64
	Momentum          float64 // used when CumulativeAverage is false
	CumulativeAverage bool    // momentum=None: running stats are the cumulative average
	Affine            bool
	TrackRunningStats bool
	Weight, Bias      *Tensor // [C], nil unless Affine
	RunningMean       *Tensor // [C], nil unless TrackRunningStats
	RunningVar        *Tensor
	NumBatchesTracked *Tensor // scalar, saved as int64
	dims              []int   // accepted input ranks
}

// BatchNormOptions are BatchNorm's optional arguments. The zero value means PyTorch's
// defaults: eps 1e-5, momentum 0.1, affine, tracking running stats.
type BatchNormOptions struct {
	Eps               float64
	Momentum          float64
	CumulativeAverage bool // momentum=None
	NoAffine          bool
	NoRunningStats    bool // track_running_stats=False
}

// NewBatchNorm2d returns BatchNorm2d(c) for [N, C, H, W] inputs.
func NewBatchNorm2d(c int, opt BatchNormOptions) *BatchNorm {
	return newBatchNorm("BatchNorm2d", c, opt, 4)
}

// NewBatchNorm1d returns BatchNorm1d(c) for [N, C] or [N, C, L] inputs.
func NewBatchNorm1d(c int, opt BatchNormOptions) *BatchNorm {
	return newBatchNorm("BatchNorm1d", c, opt, 2, 3)
}

func newBatchNorm(class string, c int, opt BatchNormOptions, dims ...int) *BatchNorm {
	m := &BatchNorm{NumFeatures: c, Eps: opt.Eps, Momentum: opt.Momentum, CumulativeAverage: opt.CumulativeAverage,
		Affine: !opt.NoAffine, TrackRunningStats: !opt.NoRunningStats, dims: dims}
	if m.Eps == 0 {
		m.Eps = 1e-5
	}
	if m.Momentum == 0 {
		m.Momentum = 0.1
	}
	m.init(m, class, 2)
	if m.Affine {
		m.Weight = m.RegisterParameter("weight", Full(1, c))
		m.Bias = m.RegisterParameter("bias", Zeros(c))
	} else {
		m.RegisterParameter("weight", nil)
		m.RegisterParameter("bias", nil)
	}
	if m.TrackRunningStats {
		m.RunningMean = m.RegisterBuffer("running_mean", Zeros(c), true)
		m.RunningVar = m.RegisterBuffer("running_var", Full(1, c), true)
		m.NumBatchesTracked = m.registerInt64Buffer("num_batches_tracked", Zeros())
	} else {
		m.RegisterBuffer("running_mean", nil, true)
		m.RegisterBuffer("running_var", nil, true)
		m.RegisterBuffer("num_batches_tracked", nil, true)
	}
	return m
}

// preLoad gives checkpoints older than version 2 (or without _metadata) a
// num_batches_tracked of 0, as _BatchNorm._load_from_state_dict does.
func (m *BatchNorm) preLoad(st *localState, prefix string, version int64, hasVersion bool) {
	if (hasVersion && version >= 2) || !m.TrackRunningStats {
		return
	}
	key := prefix + "num_batches_tracked"
	if _, ok := st.tensors[key]; !ok {
		st.keys = append(st.keys, key)
		st.tensors[key] = toTensor(Zeros(), tensor.Int64)
	}
}

// Forward normalises x per channel: with batch statistics in training mode
// (updating the running ones), with the running statistics in evaluation mode.
func (m *BatchNorm) Forward(x *Tensor) *Tensor {
	ok := false
	for _, d := range m.dims {
		ok = ok || x.Dim() == d
	}
	if !ok || x.Shape[1] != m.NumFeatures {
		panic(fmt.Sprintf("nn.%s: input shape %v, want %d dims with %d channels", m.Class(), x.Shape, m.dims[len(m.dims)-1], m.NumFeatures))
	}
	n, c := x.Shape[0], x.Shape[1]
	inner := numel(x.Shape[2:])
	count := n * inner
	useBatch := m.Training() || !m.TrackRunningStats
	mean := make([]float64, c)
	variance := make([]float64, c)
	if useBatch {
		if count <= 1 && m.Training() {
			panic(fmt.Sprintf("nn.%s: expected more than 1 value per channel when training, got input size %v", m.Class(), x.Shape))
		}
		for ch := 0; ch < c; ch++ {
			var s float64
			for b := 0; b < n; b++ {
				for _, v := range x.Data[(b*c+ch)*inner : (b*c+ch+1)*inner] {
					s += float64(v)
				}
			}
			mu := s / float64(count)
			var ss float64
			for b := 0; b < n; b++ {
				for _, v := range x.Data[(b*c+ch)*inner : (b*c+ch+1)*inner] {
					d := float64(v) - mu
					ss += d * d
				}
			}
			mean[ch], variance[ch] = mu, ss/float64(count)
		}
		if m.Training() && m.TrackRunningStats {
			m.NumBatchesTracked.Data[0]++
			f := m.Momentum
			if m.CumulativeAverage {
				f = 1 / float64(m.NumBatchesTracked.Data[0])
			}
			for ch := 0; ch < c; ch++ {
				unbiased := variance[ch] * float64(count) / float64(count-1)
				m.RunningMean.Data[ch] = float32((1-f)*float64(m.RunningMean.Data[ch]) + f*mean[ch])
				m.RunningVar.Data[ch] = float32((1-f)*float64(m.RunningVar.Data[ch]) + f*unbiased)
			}
		}
	} else {
		for ch := 0; ch < c; ch++ {
			mean[ch], variance[ch] = float64(m.RunningMean.Data[ch]), float64(m.RunningVar.Data[ch])
		}
	}
	out := Zeros(x.Shape...)
	for ch := 0; ch < c; ch++ {
		scale := 1 / math.Sqrt(variance[ch]+m.Eps)
		shift := -mean[ch] * scale
		if m.Affine {
			w, b := float64(m.Weight.Data[ch]), float64(m.Bias.Data[ch])
			scale, shift = scale*w, shift*w+b
		}
		s32, t32 := float32(scale), float32(shift)
		for b := 0; b < n; b++ {
			lo := (b*c + ch) * inner
			for i, v := range x.Data[lo : lo+inner] {
				out.Data[lo+i] = v*s32 + t32
			}
		}
	}
	return out
}

// LayerNorm is torch.nn.LayerNorm(normalized_shape, eps, elementwise_affine):
// normalisation over the last len(NormalizedShape) dimensions.
type LayerNorm struct {
	ModuleBase
	NormalizedShape []int
	Eps             float64
	Affine          bool
	Weight, Bias    *Tensor
}

// NewLayerNorm returns LayerNorm(shape, eps, elementwise_affine=affine); eps 0 means 1e-5.
func NewLayerNorm(shape []int, eps float64, affine bool) *LayerNorm {
	if eps == 0 {
		eps = 1e-5
	}
	m := &LayerNorm{NormalizedShape: append([]int(nil), shape...), Eps: eps, Affine: affine}
	m.init(m, "LayerNorm", 1)
	if affine {
		m.Weight = m.RegisterParameter("weight", Full(1, shape...))
		m.Bias = m.RegisterParameter("bias", Zeros(shape...))
	} else {
		m.RegisterParameter("weight", nil)
		m.RegisterParameter("bias", nil)
	}
	return m
}

// Forward normalises each trailing block of x to zero mean and unit (biased) variance.
func (m *LayerNorm) Forward(x *Tensor) *Tensor {
	k := len(m.NormalizedShape)
	if x.Dim() < k || !sameShape(x.Shape[x.Dim()-k:], m.NormalizedShape) {
		panic(fmt.Sprintf("nn.LayerNorm: input shape %v does not end in %v", x.Shape, m.NormalizedShape))
	}
	size := numel(m.NormalizedShape)
	out := Zeros(x.Shape...)
	if size == 0 {
		return out
	}
	for lo := 0; lo < len(x.Data); lo += size {
		blk := x.Data[lo : lo+size]
		var s float64
		for _, v := range blk {
			s += float64(v)
		}
		mu := s / float64(size)
		var ss float64
		for _, v := range blk {
			d := float64(v) - mu
			ss += d * d
		}
		rstd := 1 / math.Sqrt(ss/float64(size)+m.Eps)
		for i, v := range blk {
			y := (float64(v) - mu) * rstd
			if m.Affine {
				y = y*float64(m.Weight.Data[i]) + float64(m.Bias.Data[i])
			}
			out.Data[lo+i] = float32(y)
		}
	}
	return out
}
