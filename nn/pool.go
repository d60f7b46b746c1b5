package nn

import (
	"fmt"
	"math"
)

// MaxPool2d is torch.nn.MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode).
type MaxPool2d struct {
	ModuleBase
	KernelSize, Stride, Padding, Dilation [2]int
	CeilMode                              bool
}

// NewMaxPool2d returns MaxPool2d; a zero stride means stride = kernel, as in PyTorch.
func NewMaxPool2d(kernel, stride, padding [2]int, ceil bool) *MaxPool2d {
	if stride == [2]int{} {
		stride = kernel
	}
	m := &MaxPool2d{KernelSize: kernel, Stride: stride, Padding: padding, Dilation: [2]int{1, 1}, CeilMode: ceil}
	m.init(m, "MaxPool2d", 1)
	return m
}

// poolOutSize is PyTorch's pooling_output_shape.
func poolOutSize(in, k, pad, stride, dil int, ceil bool) int {
	num := in + 2*pad - dil*(k-1) - 1
	if ceil {
		num += stride - 1
	}
	out := int(math.Floor(float64(num)/float64(stride))) + 1
	if ceil && (out-1)*stride >= in+pad {
		out--
	}
	return out
}

func as4d(name string, x *Tensor) (*Tensor, bool) {
	switch x.Dim() {
	case 4:
		return x, false
	case 3:
		return x.Reshape(append([]int{1}, x.Shape...)...), true
	}
	panic(fmt.Sprintf("nn.%s: input shape %v, want [N, C, H, W]", name, x.Shape))
}

// Forward takes the maximum over each window (padding counts as −∞).
func (m *MaxPool2d) Forward(x *Tensor) *Tensor {
	x, unb := as4d("MaxPool2d", x)
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh := poolOutSize(h, m.KernelSize[0], m.Padding[0], m.Stride[0], m.Dilation[0], m.CeilMode)
	ow := poolOutSize(w, m.KernelSize[1], m.Padding[1], m.Stride[1], m.Dilation[1], m.CeilMode)
	out := Zeros(n, c, oh, ow)
	for p := 0; p < n*c; p++ {
		plane := x.Data[p*h*w : (p+1)*h*w]
		dst := out.Data[p*oh*ow : (p+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best := float32(math.Inf(-1))
				for ki := 0; ki < m.KernelSize[0]; ki++ {
					iy := oy*m.Stride[0] - m.Padding[0] + ki*m.Dilation[0]
					if iy < 0 || iy >= h {
						continue
					}
					for kj := 0; kj < m.KernelSize[1]; kj++ {
						ix := ox*m.Stride[1] - m.Padding[1] + kj*m.Dilation[1]
						if ix < 0 || ix >= w {
							continue
						}
						if v := plane[iy*w+ix]; v > best || v != v {
							best = v
						}
					}
				}
				dst[oy*ow+ox] = best
			}
		}
	}
	if unb {
		out = out.Reshape(out.Shape[1:]...)
	}
	return out
}

// AvgPool2d is torch.nn.AvgPool2d(kernel_size, stride, padding, ceil_mode, count_include_pad).
type AvgPool2d struct {
	ModuleBase
	KernelSize, Stride, Padding [2]int
	CeilMode                    bool
	CountIncludePad             bool
}

// NewAvgPool2d returns AvgPool2d; a zero stride means stride = kernel.
func NewAvgPool2d(kernel, stride, padding [2]int, ceil, countIncludePad bool) *AvgPool2d {
	if stride == [2]int{} {
		stride = kernel
	}
	m := &AvgPool2d{KernelSize: kernel, Stride: stride, Padding: padding, CeilMode: ceil, CountIncludePad: countIncludePad}
	m.init(m, "AvgPool2d", 1)
	return m
}

// Forward averages each window with PyTorch's divisor rules.
func (m *AvgPool2d) Forward(x *Tensor) *Tensor {
	x, unb := as4d("AvgPool2d", x)
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	kh, kw := m.KernelSize[0], m.KernelSize[1]
	oh := poolOutSize(h, kh, m.Padding[0], m.Stride[0], 1, m.CeilMode)
	ow := poolOutSize(w, kw, m.Padding[1], m.Stride[1], 1, m.CeilMode)
	out := Zeros(n, c, oh, ow)
	for p := 0; p < n*c; p++ {
		plane := x.Data[p*h*w : (p+1)*h*w]
		dst := out.Data[p*oh*ow : (p+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			hs := oy*m.Stride[0] - m.Padding[0]
			he := min(hs+kh, h+m.Padding[0])
			for ox := 0; ox < ow; ox++ {
				ws := ox*m.Stride[1] - m.Padding[1]
				we := min(ws+kw, w+m.Padding[1])
				poolSize := (he - hs) * (we - ws)
				hs0, ws0, he0, we0 := max(hs, 0), max(ws, 0), min(he, h), min(we, w)
				var s float32
				for iy := hs0; iy < he0; iy++ {
					for ix := ws0; ix < we0; ix++ {
						s += plane[iy*w+ix]
					}
				}
				div := poolSize
				if !m.CountIncludePad {
					div = (he0 - hs0) * (we0 - ws0)
				}
				dst[oy*ow+ox] = s / float32(div)
			}
		}
	}
	if unb {
		out = out.Reshape(out.Shape[1:]...)
	}
	return out
}

// AdaptiveAvgPool2d is torch.nn.AdaptiveAvgPool2d(output_size).
type AdaptiveAvgPool2d struct {
	ModuleBase
	OutputSize [2]int
}

// NewAdaptiveAvgPool2d returns AdaptiveAvgPool2d((h, w)).
func NewAdaptiveAvgPool2d(size [2]int) *AdaptiveAvgPool2d {
	m := &AdaptiveAvgPool2d{OutputSize: size}
	m.init(m, "AdaptiveAvgPool2d", 1)
	return m
}

// Forward averages over the windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉).
func (m *AdaptiveAvgPool2d) Forward(x *Tensor) *Tensor {
	x, unb := as4d("AdaptiveAvgPool2d", x)
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := m.OutputSize[0], m.OutputSize[1]
	out := Zeros(n, c, oh, ow)
	for p := 0; p < n*c; p++ {
		plane := x.Data[p*h*w : (p+1)*h*w]
		dst := out.Data[p*oh*ow : (p+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			hs, he := oy*h/oh, ((oy+1)*h+oh-1)/oh
			for ox := 0; ox < ow; ox++ {
				ws, we := ox*w/ow, ((ox+1)*w+ow-1)/ow
				var s float32
				for iy := hs; iy < he; iy++ {
					for ix := ws; ix < we; ix++ {
						s += plane[iy*w+ix]
					}
				}
				dst[oy*ow+ox] = s / float32((he-hs)*(we-ws))
			}
		}
	}
	if unb {
		out = out.Reshape(out.Shape[1:]...)
	}
	return out
}
