package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Tensor is the float32 working type of forward passes: a contiguous,
// row-major array with a shape. Modules hold their parameters as *Tensor and
// loading a state_dict copies into them in place, so pointers stay valid.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a tensor over data (no copy). It panics if the number of
// elements of shape differs from len(data).
func NewTensor(shape []int, data []float32) *Tensor {
	if n := numel(shape); n != len(data) {
		panic(fmt.Sprintf("nn.NewTensor: shape %v holds %d elements, data has %d", shape, n, len(data)))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Zeros returns a zero-filled tensor of the given shape.
func Zeros(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// Full returns a tensor of the given shape filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.Data {
		t.Data[i] = v
	}
	return t
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return len(t.Data) }

// Dim returns the number of dimensions.
func (t *Tensor) Dim() int { return len(t.Shape) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Reshape returns a tensor sharing t's data with a new shape; one dimension may be -1.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	s := append([]int(nil), shape...)
	infer := -1
	n := 1
	for i, d := range s {
		if d == -1 {
			if infer >= 0 {
				panic("nn.Reshape: more than one -1")
			}
			infer = i
			continue
		}
		n *= d
	}
	if infer >= 0 {
		if n == 0 || len(t.Data)%n != 0 {
			panic(fmt.Sprintf("nn.Reshape: cannot reshape %v to %v", t.Shape, shape))
		}
		s[infer] = len(t.Data) / n
		n *= s[infer]
	}
	if n != len(t.Data) {
		panic(fmt.Sprintf("nn.Reshape: cannot reshape %v to %v", t.Shape, shape))
	}
	return &Tensor{Shape: s, Data: t.Data}
}

// String returns a short description: the shape and the first few values.
func (t *Tensor) String() string {
	const show = 8
	if len(t.Data) <= show {
		return fmt.Sprintf("Tensor%v%v", t.Shape, t.Data)
	}
	return fmt.Sprintf("Tensor%v%v…", t.Shape, t.Data[:show])
}

// Rows returns the tensor as rows of its last dimension (a [N, M] tensor gives N rows of M values).
func (t *Tensor) Rows() [][]float32 {
	if len(t.Shape) == 0 {
		return [][]float32{append([]float32(nil), t.Data...)}
	}
	last := t.Shape[len(t.Shape)-1]
	if last == 0 {
		return nil
	}
	rows := make([][]float32, 0, len(t.Data)/last)
	for i := 0; i < len(t.Data); i += last {
		rows = append(rows, append([]float32(nil), t.Data[i:i+last]...))
	}
	return rows
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The package's random source for parameter initialisation and Dropout.
var (
	rngMu sync.Mutex
	rng   = rand.New(rand.NewPCG(0, 0))
)

// ManualSeed reseeds the generator used to initialise parameters and for
// Dropout, making models built afterwards reproducible (Go's sequence; it does
// not reproduce torch.manual_seed's numbers).
func ManualSeed(seed uint64) {
	rngMu.Lock()
	rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rngMu.Unlock()
}

// uniform fills t with values drawn uniformly from [-bound, bound), as
// torch.nn.init.uniform_(-bound, bound) (kaiming_uniform_ with a=√5 reduces to
// bound = 1/√fan_in for the default initialisation of Linear and Conv).
func uniform(t *Tensor, bound float64) {
	rngMu.Lock()
	defer rngMu.Unlock()
	for i := range t.Data {
		t.Data[i] = float32((rng.Float64()*2 - 1) * bound)
	}
}

func normal(t *Tensor) {
	rngMu.Lock()
	defer rngMu.Unlock()
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
}

func randFloat() float64 {
	rngMu.Lock()
	defer rngMu.Unlock()
	return rng.Float64()
}

func fanInBound(fanIn int) float64 {
	if fanIn <= 0 {
		return 0
	}
	return 1 / math.Sqrt(float64(fanIn))
}
