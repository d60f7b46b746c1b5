package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestGemmMatchesGonum checks the packed AVX2 kernel against gonum's reference
// Sgemm on sizes that exercise every edge (partial panels, tiles and blocks).
func TestGemmMatchesGonum(t *testing.T) {
	if !haveKernel {
		t.Skip("no AVX2/FMA: sgemm uses gonum directly")
	}
	r := rand.New(rand.NewPCG(1, 2))
	sizes := [][3]int{{1, 1, 1}, {5, 15, 3}, {6, 16, 256}, {7, 17, 257}, {97, 257, 300}, {64, 300, 513}, {200, 40, 9}, {13, 600, 70}}
	for _, s := range sizes {
		m, n, k := s[0], s[1], s[2]
		for _, transB := range []bool{false, true} {
			for _, beta := range []float32{0, 1} {
				a := make([]float32, m*k)
				b := make([]float32, k*n)
				c0 := make([]float32, m*n)
				for i := range a {
					a[i] = float32(r.NormFloat64())
				}
				for i := range b {
					b[i] = float32(r.NormFloat64())
				}
				for i := range c0 {
					c0[i] = float32(r.NormFloat64())
				}
				ldb, tb := n, blas.NoTrans
				if transB {
					ldb, tb = k, blas.Trans
				}
				want := append([]float32(nil), c0...)
				blasImpl.Sgemm(blas.NoTrans, tb, m, n, k, 1, a, k, b, ldb, beta, want, n)
				got := append([]float32(nil), c0...)
				gemm(m, n, k, a, k, transB, b, ldb, beta, got, n)
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*math.Sqrt(float64(k)) {
						t.Fatalf("m=%d n=%d k=%d transB=%v beta=%v: c[%d] = %v, gonum %v", m, n, k, transB, beta, i, got[i], want[i])
					}
				}
			}
		}
	}
}
