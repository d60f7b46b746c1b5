package nn

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

var blasImpl gonum.Implementation

// sgemm computes c = a·op(b) + beta·c, row-major: with the AVX2/FMA kernel of
// gemm.go where the CPU has one, else with gonum's Sgemm (which splits large
// products across goroutines itself).
func sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	if haveKernel && !transA && (beta == 0 || beta == 1) {
		gemm(m, n, k, a, lda, transB, b, ldb, beta, c, ldc)
		return
	}
	blasImpl.Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// Linear is torch.nn.Linear: y = x·Wᵀ + b over the last dimension.
type Linear struct {
	ModuleBase
	InFeatures, OutFeatures int
	Weight                  *Tensor // [out, in]
	Bias                    *Tensor // [out], nil without bias
}

// NewLinear returns a Linear layer initialised as PyTorch does (uniform in ±1/√in).
func NewLinear(in, out int, bias bool) *Linear {
	l := &Linear{InFeatures: in, OutFeatures: out}
	l.init(l, "Linear", 1)
	l.Weight = l.RegisterParameter("weight", Zeros(out, in))
	uniform(l.Weight, fanInBound(in))
	if bias {
		l.Bias = l.RegisterParameter("bias", Zeros(out))
		uniform(l.Bias, fanInBound(in))
	} else {
		l.RegisterParameter("bias", nil)
	}
	return l
}

// Forward applies the layer to x of shape [..., in], giving [..., out].
func (l *Linear) Forward(x *Tensor) *Tensor {
	if x.Dim() == 0 || x.Shape[x.Dim()-1] != l.InFeatures {
		panic(fmt.Sprintf("nn.Linear: input shape %v, want [..., %d]", x.Shape, l.InFeatures))
	}
	rows := len(x.Data) / max(l.InFeatures, 1)
	if l.InFeatures == 0 {
		rows = numel(x.Shape[:x.Dim()-1])
	}
	shape := append(append([]int(nil), x.Shape[:x.Dim()-1]...), l.OutFeatures)
	out := Zeros(shape...)
	beta := float32(0)
	if l.Bias != nil {
		for r := 0; r < rows; r++ {
			copy(out.Data[r*l.OutFeatures:(r+1)*l.OutFeatures], l.Bias.Data)
		}
		beta = 1
	}
	sgemm(false, true, rows, l.OutFeatures, l.InFeatures, x.Data, max(l.InFeatures, 1), l.Weight.Data, max(l.InFeatures, 1), beta, out.Data, max(l.OutFeatures, 1))
	return out
}

// Identity is torch.nn.Identity: it returns its input.
type Identity struct{ ModuleBase }

// NewIdentity returns an Identity module.
func NewIdentity() *Identity {
	m := &Identity{}
	m.init(m, "Identity", 1)
	return m
}

// Forward returns x.
func (m *Identity) Forward(x *Tensor) *Tensor { return x }

// Flatten is torch.nn.Flatten(start_dim, end_dim).
type Flatten struct {
	ModuleBase
	StartDim, EndDim int
}

// NewFlatten returns Flatten(start_dim=1, end_dim=-1), PyTorch's default.
func NewFlatten() *Flatten { return NewFlattenDims(1, -1) }

// NewFlattenDims returns Flatten(start, end); negative dims count from the end.
func NewFlattenDims(start, end int) *Flatten {
	m := &Flatten{StartDim: start, EndDim: end}
	m.init(m, "Flatten", 1)
	return m
}

// Forward merges dimensions StartDim..EndDim (a view: the data is shared).
func (m *Flatten) Forward(x *Tensor) *Tensor {
	nd := x.Dim()
	if nd == 0 {
		return x.Reshape(1)
	}
	s, e := m.StartDim, m.EndDim
	if s < 0 {
		s += nd
	}
	if e < 0 {
		e += nd
	}
	if s < 0 || e >= nd || s > e {
		panic(fmt.Sprintf("nn.Flatten: dims %d..%d out of range for %v", m.StartDim, m.EndDim, x.Shape))
	}
	shape := append([]int(nil), x.Shape[:s]...)
	shape = append(shape, numel(x.Shape[s:e+1]))
	shape = append(shape, x.Shape[e+1:]...)
	return &Tensor{Shape: shape, Data: x.Data}
}

// Embedding is torch.nn.Embedding: a lookup table of NumEmbeddings vectors.
type Embedding struct {
	ModuleBase
	NumEmbeddings, EmbeddingDim int
	PaddingIdx                  int // -1 when none
	Weight                      *Tensor
}

// NewEmbedding returns an Embedding initialised from N(0,1) as PyTorch does.
// paddingIdx < 0 means none; otherwise that row starts at zero.
func NewEmbedding(num, dim, paddingIdx int) *Embedding {
	m := &Embedding{NumEmbeddings: num, EmbeddingDim: dim, PaddingIdx: -1}
	m.init(m, "Embedding", 1)
	m.Weight = m.RegisterParameter("weight", Zeros(num, dim))
	normal(m.Weight)
	if paddingIdx >= 0 && paddingIdx < num {
		m.PaddingIdx = paddingIdx
		clear(m.Weight.Data[paddingIdx*dim : (paddingIdx+1)*dim])
	}
	return m
}

// Lookup returns the vectors of ids, shaped shape+[dim]. It panics on an id out of range, as PyTorch raises.
func (m *Embedding) Lookup(ids []int64, shape []int) *Tensor {
	if numel(shape) != len(ids) {
		panic(fmt.Sprintf("nn.Embedding: %d ids for shape %v", len(ids), shape))
	}
	out := Zeros(append(append([]int(nil), shape...), m.EmbeddingDim)...)
	d := m.EmbeddingDim
	for i, id := range ids {
		if id < 0 || id >= int64(m.NumEmbeddings) {
			panic(fmt.Sprintf("nn.Embedding: index %d out of range [0, %d)", id, m.NumEmbeddings))
		}
		copy(out.Data[i*d:(i+1)*d], m.Weight.Data[int(id)*d:(int(id)+1)*d])
	}
	return out
}

// Forward looks up x's elements, which must hold integral indices.
func (m *Embedding) Forward(x *Tensor) *Tensor {
	ids := make([]int64, len(x.Data))
	for i, v := range x.Data {
		ids[i] = int64(v)
	}
	return m.Lookup(ids, x.Shape)
}
