package nn

import (
	"fmt"
	"math"
)

// elementwise applies f to every element of x into a new tensor.
func elementwise(x *Tensor, f func(float32) float32) *Tensor {
	out := &Tensor{Shape: append([]int(nil), x.Shape...), Data: make([]float32, len(x.Data))}
	for i, v := range x.Data {
		out.Data[i] = f(v)
	}
	return out
}

// activation is the common shape of the parameter-free element-wise modules.
type activation struct {
	ModuleBase
	// Inplace overwrites the input instead of allocating the output, as
	// PyTorch's inplace=True (torchvision's ResNet uses it for ReLU).
	Inplace bool
	f       func(float32) float32
}

// Forward applies the activation element-wise.
func (a *activation) Forward(x *Tensor) *Tensor {
	if a.Inplace {
		for i, v := range x.Data {
			x.Data[i] = a.f(v)
		}
		return x
	}
	return elementwise(x, a.f)
}

func newActivation[T any](m *T, base *activation, class string, f func(float32) float32) *T {
	base.f = f
	base.init(any(m).(Module), class, 1)
	return m
}

// ReLU is torch.nn.ReLU: max(0, x).
type ReLU struct{ activation }

// NewReLU returns a ReLU module.
func NewReLU() *ReLU {
	m := &ReLU{}
	return newActivation(m, &m.activation, "ReLU", func(v float32) float32 {
		if v > 0 || v != v {
			return v
		}
		return 0
	})
}

// ReLU6 is torch.nn.ReLU6: min(max(0, x), 6).
type ReLU6 struct{ activation }

// NewReLU6 returns a ReLU6 module.
func NewReLU6() *ReLU6 {
	m := &ReLU6{}
	return newActivation(m, &m.activation, "ReLU6", func(v float32) float32 { return min(max(v, 0), 6) })
}

// Sigmoid is torch.nn.Sigmoid: 1/(1+e^−x).
type Sigmoid struct{ activation }

// NewSigmoid returns a Sigmoid module.
func NewSigmoid() *Sigmoid {
	m := &Sigmoid{}
	return newActivation(m, &m.activation, "Sigmoid", sigmoid)
}

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

// Tanh is torch.nn.Tanh.
type Tanh struct{ activation }

// NewTanh returns a Tanh module.
func NewTanh() *Tanh {
	m := &Tanh{}
	return newActivation(m, &m.activation, "Tanh", func(v float32) float32 { return float32(math.Tanh(float64(v))) })
}

// SiLU is torch.nn.SiLU: x·sigmoid(x).
type SiLU struct{ activation }

// NewSiLU returns a SiLU module.
func NewSiLU() *SiLU {
	m := &SiLU{}
	return newActivation(m, &m.activation, "SiLU", func(v float32) float32 { return v * sigmoid(v) })
}

// Hardsigmoid is torch.nn.Hardsigmoid: relu6(x+3)/6.
type Hardsigmoid struct{ activation }

// NewHardsigmoid returns a Hardsigmoid module.
func NewHardsigmoid() *Hardsigmoid {
	m := &Hardsigmoid{}
	return newActivation(m, &m.activation, "Hardsigmoid", func(v float32) float32 { return min(max(v+3, 0), 6) / 6 })
}

// Hardswish is torch.nn.Hardswish: x·relu6(x+3)/6.
type Hardswish struct{ activation }

// NewHardswish returns a Hardswish module.
func NewHardswish() *Hardswish {
	m := &Hardswish{}
	return newActivation(m, &m.activation, "Hardswish", func(v float32) float32 { return v * min(max(v+3, 0), 6) / 6 })
}

// GELU is torch.nn.GELU(approximate): exact x·Φ(x) with "none", or the tanh approximation with "tanh".
type GELU struct {
	activation
	Approximate string
}

// NewGELU returns GELU(approximate=approx), approx being "none" or "tanh".
func NewGELU(approx string) *GELU {
	m := &GELU{Approximate: approx}
	switch approx {
	case "none", "":
		m.Approximate = "none"
		return newActivation(m, &m.activation, "GELU", func(v float32) float32 {
			x := float64(v)
			return float32(0.5 * x * (1 + math.Erf(x/math.Sqrt2)))
		})
	case "tanh":
		return newActivation(m, &m.activation, "GELU", func(v float32) float32 {
			x := float64(v)
			return float32(0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))))
		})
	}
	panic(fmt.Sprintf("nn.NewGELU: approximate %q, want \"none\" or \"tanh\"", approx))
}

// Softmax is torch.nn.Softmax(dim).
type Softmax struct {
	ModuleBase
	Dim int
}

// NewSoftmax returns Softmax over dim (negative counts from the end).
func NewSoftmax(dim int) *Softmax {
	m := &Softmax{Dim: dim}
	m.init(m, "Softmax", 1)
	return m
}

// Forward computes exp(x)/Σexp(x) along Dim, subtracting the maximum first as PyTorch does.
func (m *Softmax) Forward(x *Tensor) *Tensor {
	d := m.Dim
	if d < 0 {
		d += x.Dim()
	}
	if d < 0 || d >= max(x.Dim(), 1) {
		panic(fmt.Sprintf("nn.Softmax: dim %d out of range for %v", m.Dim, x.Shape))
	}
	out := x.Clone()
	if x.Dim() == 0 {
		out.Data[0] = 1
		return out
	}
	n := x.Shape[d]
	inner := numel(x.Shape[d+1:])
	outer := numel(x.Shape[:d])
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			mx := float32(math.Inf(-1))
			for k := 0; k < n; k++ {
				mx = max(mx, x.Data[base+k*inner])
			}
			var sum float64
			for k := 0; k < n; k++ {
				e := math.Exp(float64(x.Data[base+k*inner] - mx))
				out.Data[base+k*inner] = float32(e)
				sum += e
			}
			for k := 0; k < n; k++ {
				out.Data[base+k*inner] = float32(float64(out.Data[base+k*inner]) / sum)
			}
		}
	}
	return out
}

// Dropout is torch.nn.Dropout(p): in training mode it zeroes each element with
// probability p and scales the rest by 1/(1−p); in evaluation mode it is the identity.
type Dropout struct {
	ModuleBase
	P float64
}

// NewDropout returns Dropout(p).
func NewDropout(p float64) *Dropout {
	if p < 0 || p > 1 {
		panic(fmt.Sprintf("nn.NewDropout: p = %v, want 0 ≤ p ≤ 1", p))
	}
	m := &Dropout{P: p}
	m.init(m, "Dropout", 1)
	return m
}

// Forward applies dropout (training) or returns x unchanged (evaluation).
func (m *Dropout) Forward(x *Tensor) *Tensor {
	if !m.Training() || m.P == 0 {
		return x
	}
	out := Zeros(x.Shape...)
	if m.P == 1 {
		return out
	}
	scale := float32(1 / (1 - m.P))
	for i, v := range x.Data {
		if randFloat() >= m.P {
			out.Data[i] = v * scale
		}
	}
	return out
}
