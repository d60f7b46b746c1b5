package nn

import (
	"fmt"
	"runtime"
	"sync"
)

// Conv2d is torch.nn.Conv2d with zero padding: stride, padding, dilation and
// groups (groups == in_channels is a depthwise convolution).
type Conv2d struct {
	ModuleBase
	InChannels, OutChannels int
	KernelSize              [2]int
	Stride, Padding         [2]int
	Dilation                [2]int
	Groups                  int
	Weight                  *Tensor // [out, in/groups, kh, kw]
	Bias                    *Tensor // [out], nil without bias
}

// Conv2dOptions are Conv2d's optional arguments; zero fields take PyTorch's
// defaults (stride 1, padding 0, dilation 1, groups 1). NoBias drops the bias.
type Conv2dOptions struct {
	Stride, Padding, Dilation [2]int
	Groups                    int
	NoBias                    bool
}

// NewConv2d returns a Conv2d initialised as PyTorch does (uniform in ±1/√fan_in).
func NewConv2d(in, out int, kernel [2]int, opt Conv2dOptions) *Conv2d {
	c := &Conv2d{InChannels: in, OutChannels: out, KernelSize: kernel, Stride: opt.Stride,
		Padding: opt.Padding, Dilation: opt.Dilation, Groups: opt.Groups}
	if c.Stride == [2]int{} {
		c.Stride = [2]int{1, 1}
	}
	if c.Dilation == [2]int{} {
		c.Dilation = [2]int{1, 1}
	}
	if c.Groups == 0 {
		c.Groups = 1
	}
	if in%c.Groups != 0 || out%c.Groups != 0 {
		panic(fmt.Sprintf("nn.NewConv2d: channels %d→%d not divisible by groups %d", in, out, c.Groups))
	}
	c.init(c, "Conv2d", 1)
	c.Weight = c.RegisterParameter("weight", Zeros(out, in/c.Groups, kernel[0], kernel[1]))
	bound := fanInBound(in / c.Groups * kernel[0] * kernel[1])
	uniform(c.Weight, bound)
	if opt.NoBias {
		c.RegisterParameter("bias", nil)
	} else {
		c.Bias = c.RegisterParameter("bias", Zeros(out))
		uniform(c.Bias, bound)
	}
	return c
}

// Forward convolves x of shape [N, C, H, W] (or [C, H, W]).
func (c *Conv2d) Forward(x *Tensor) *Tensor {
	unbatched := x.Dim() == 3
	if unbatched {
		x = x.Reshape(append([]int{1}, x.Shape...)...)
	}
	if x.Dim() != 4 || x.Shape[1] != c.InChannels {
		panic(fmt.Sprintf("nn.Conv2d: input shape %v, want [N, %d, H, W]", x.Shape, c.InChannels))
	}
	out := conv2d(x, c.Weight, c.Bias, c.Stride, c.Padding, c.Dilation, c.Groups)
	if unbatched {
		out = out.Reshape(out.Shape[1:]...)
	}
	return out
}

// Conv1d is torch.nn.Conv1d with zero padding.
type Conv1d struct {
	ModuleBase
	InChannels, OutChannels int
	KernelSize              int
	Stride, Padding         int
	Dilation                int
	Groups                  int
	Weight                  *Tensor // [out, in/groups, k]
	Bias                    *Tensor
}

// Conv1dOptions are Conv1d's optional arguments; zero fields take PyTorch's defaults.
type Conv1dOptions struct {
	Stride, Padding, Dilation int
	Groups                    int
	NoBias                    bool
}

// NewConv1d returns a Conv1d initialised as PyTorch does.
func NewConv1d(in, out, kernel int, opt Conv1dOptions) *Conv1d {
	c := &Conv1d{InChannels: in, OutChannels: out, KernelSize: kernel, Stride: max(opt.Stride, 1),
		Padding: opt.Padding, Dilation: max(opt.Dilation, 1), Groups: max(opt.Groups, 1)}
	if in%c.Groups != 0 || out%c.Groups != 0 {
		panic(fmt.Sprintf("nn.NewConv1d: channels %d→%d not divisible by groups %d", in, out, c.Groups))
	}
	c.init(c, "Conv1d", 1)
	c.Weight = c.RegisterParameter("weight", Zeros(out, in/c.Groups, kernel))
	bound := fanInBound(in / c.Groups * kernel)
	uniform(c.Weight, bound)
	if opt.NoBias {
		c.RegisterParameter("bias", nil)
	} else {
		c.Bias = c.RegisterParameter("bias", Zeros(out))
		uniform(c.Bias, bound)
	}
	return c
}

// Forward convolves x of shape [N, C, L] (or [C, L]).
func (c *Conv1d) Forward(x *Tensor) *Tensor {
	unbatched := x.Dim() == 2
	if unbatched {
		x = x.Reshape(append([]int{1}, x.Shape...)...)
	}
	if x.Dim() != 3 || x.Shape[1] != c.InChannels {
		panic(fmt.Sprintf("nn.Conv1d: input shape %v, want [N, %d, L]", x.Shape, c.InChannels))
	}
	x4 := x.Reshape(x.Shape[0], x.Shape[1], 1, x.Shape[2])
	w4 := c.Weight.Reshape(c.OutChannels, c.InChannels/c.Groups, 1, c.KernelSize)
	out := conv2d(x4, w4, c.Bias, [2]int{1, c.Stride}, [2]int{0, c.Padding}, [2]int{1, c.Dilation}, c.Groups)
	out = out.Reshape(out.Shape[0], out.Shape[1], out.Shape[3])
	if unbatched {
		out = out.Reshape(out.Shape[1:]...)
	}
	return out
}

// colPool recycles im2col buffers between calls (they reach tens of MB for
// early ResNet layers; allocating and zeroing them each time costs more than
// the copy into them).
var colPool = sync.Pool{New: func() any { return new([]float32) }}

func convOutSize(in, k, stride, pad, dil int) int {
	return (in+2*pad-dil*(k-1)-1)/stride + 1
}

// conv2d computes a grouped 2-D convolution as im2col + Sgemm per (sample, group),
// spreading those products over the CPUs.
func conv2d(x, w, bias *Tensor, stride, pad, dil [2]int, groups int) *Tensor {
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	oh := convOutSize(h, kh, stride[0], pad[0], dil[0])
	ow := convOutSize(wd, kw, stride[1], pad[1], dil[1])
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("nn.Conv2d: input %v too small for kernel %dx%d", x.Shape, kh, kw))
	}
	out := Zeros(n, cout, oh, ow)
	ocg := cout / groups
	K := cg * kh * kw
	P := oh * ow
	direct := kh == 1 && kw == 1 && stride == [2]int{1, 1} && pad == [2]int{} // col is the input itself
	jobs := n * groups
	workers := min(runtime.GOMAXPROCS(0), jobs)
	// With a single large product, let Sgemm parallelise internally instead.
	if jobs > 0 && P*K*ocg/jobs > 1<<22 {
		workers = 1
	}
	var wg sync.WaitGroup
	next := make(chan int, jobs)
	for j := 0; j < jobs; j++ {
		next <- j
	}
	close(next)
	for wkr := 0; wkr < workers; wkr++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var col []float32
			if !direct {
				buf := colPool.Get().(*[]float32)
				defer colPool.Put(buf)
				if cap(*buf) < K*P {
					*buf = make([]float32, K*P)
				}
				col = (*buf)[:K*P] // im2col writes every element
			}
			for j := range next {
				b, g := j/groups, j%groups
				in := x.Data[(b*cin+g*cg)*h*wd : (b*cin+(g+1)*cg)*h*wd]
				dst := out.Data[(b*cout+g*ocg)*P : (b*cout+(g+1)*ocg)*P]
				beta := float32(0)
				if bias != nil {
					for o := 0; o < ocg; o++ {
						bv := bias.Data[g*ocg+o]
						row := dst[o*P : (o+1)*P]
						for i := range row {
							row[i] = bv
						}
					}
					beta = 1
				}
				src := in
				if !direct {
					im2col(in, cg, h, wd, kh, kw, oh, ow, stride, pad, dil, col, workers == 1)
					src = col
				}
				sgemm(false, false, ocg, P, K, w.Data[g*ocg*K:(g+1)*ocg*K], K, src, P, beta, dst, P)
			}
		}()
	}
	wg.Wait()
	return out
}

// im2col lays out every receptive field of in ([c, h, w]) as a column of col
// ([c·kh·kw, oh·ow]), splitting the channels over the CPUs when par is set.
func im2col(in []float32, c, h, w, kh, kw, oh, ow int, stride, pad, dil [2]int, col []float32, par bool) {
	workers := 1
	if par && c*kh*kw*oh*ow >= 1<<16 {
		workers = min(runtime.GOMAXPROCS(0), c)
	}
	if workers <= 1 {
		im2colChannels(in, 0, c, h, w, kh, kw, oh, ow, stride, pad, dil, col)
		return
	}
	var wg sync.WaitGroup
	per := (c + workers - 1) / workers
	for c0 := 0; c0 < c; c0 += per {
		wg.Add(1)
		go func(c0, c1 int) {
			defer wg.Done()
			im2colChannels(in, c0, c1, h, w, kh, kw, oh, ow, stride, pad, dil, col)
		}(c0, min(c, c0+per))
	}
	wg.Wait()
}

func im2colChannels(in []float32, c0, c1, h, w, kh, kw, oh, ow int, stride, pad, dil [2]int, col []float32) {
	P := oh * ow
	sx := stride[1]
	for ch := c0; ch < c1; ch++ {
		plane := in[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				row := col[((ch*kh+ki)*kw+kj)*P : ((ch*kh+ki)*kw+kj+1)*P]
				ix := kj*dil[1] - pad[1]
				// Output columns ox with 0 ≤ ix + ox·sx < w.
				lo := 0
				if ix < 0 {
					lo = (-ix + sx - 1) / sx
				}
				hi := 0
				if w-ix > 0 {
					hi = min(ow, (w-ix+sx-1)/sx)
				}
				lo = min(lo, hi)
				for oy := 0; oy < oh; oy++ {
					iy := oy*stride[0] - pad[0] + ki*dil[0]
					r := row[oy*ow : (oy+1)*ow]
					if iy < 0 || iy >= h {
						clear(r)
						continue
					}
					src := plane[iy*w : (iy+1)*w]
					clear(r[:lo])
					clear(r[hi:])
					if sx == 1 {
						copy(r[lo:hi], src[ix+lo:ix+hi])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						r[ox] = src[ix+ox*sx]
					}
				}
			}
		}
	}
}
