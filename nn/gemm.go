package nn

import (
	"runtime"
	"sync"
)

// A packed, blocked single-precision GEMM around a 6×16 AVX2/FMA micro-kernel
// (the GotoBLAS/BLIS scheme): C blocks of mcBlock×ncBlock are shared out to
// the CPUs; for each kcBlock slice of the inner dimension the A block is
// packed into 6-row panels and the B block into 16-column panels, and the
// kernel computes one 6×16 tile at a time. gonum's Sgemm (pure Go, no FMA) is
// the fallback where the CPU lacks AVX2/FMA; it runs several times slower.
const (
	mr, nr  = 6, 16
	mcBlock = 96  // rows of A per block (multiple of mr)
	ncBlock = 256 // columns of B per block (multiple of nr)
	kcBlock = 256 // depth per packed slice
)

var gemmPool = sync.Pool{New: func() any {
	return &gemmBuf{a: make([]float32, mcBlock*kcBlock), b: make([]float32, kcBlock*ncBlock)}
}}

type gemmBuf struct {
	a, b []float32
	tile [mr * nr]float32
}

// gemm computes C = A·op(B) + beta·C for row-major A (m×k, lda), B (k×n, ldb;
// or n×k when transB) and C (m×n, ldc). beta must be 0 or 1.
func gemm(m, n, k int, a []float32, lda int, transB bool, b []float32, ldb int, beta float32, c []float32, ldc int) {
	type job struct{ i0, j0 int }
	var jobs []job
	for i0 := 0; i0 < m; i0 += mcBlock {
		for j0 := 0; j0 < n; j0 += ncBlock {
			jobs = append(jobs, job{i0, j0})
		}
	}
	run := func(j job, buf *gemmBuf) {
		mc, nc := min(mcBlock, m-j.i0), min(ncBlock, n-j.j0)
		for p0 := 0; p0 < k; p0 += kcBlock {
			kc := min(kcBlock, k-p0)
			packA(buf.a, a, lda, j.i0, p0, mc, kc)
			packB(buf.b, b, ldb, transB, p0, j.j0, kc, nc)
			accumulate := p0 > 0 || beta != 0
			for jr := 0; jr < nc; jr += nr {
				for ir := 0; ir < mc; ir += mr {
					rows, cols := min(mr, mc-ir), min(nr, nc-jr)
					if rows == mr && cols == nr {
						kern6x16c(kc, &buf.a[ir*kc], &buf.b[jr*kc], &c[(j.i0+ir)*ldc+j.j0+jr], ldc, accumulate)
						continue
					}
					kern6x16(kc, &buf.a[ir*kc], &buf.b[jr*kc], &buf.tile[0])
					for i := 0; i < rows; i++ {
						dst := c[(j.i0+ir+i)*ldc+j.j0+jr:][:cols]
						src := buf.tile[i*nr:][:cols]
						if accumulate {
							for x := range dst {
								dst[x] += src[x]
							}
						} else {
							copy(dst, src)
						}
					}
				}
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	if workers <= 1 || 2*m*n*k < 1<<20 {
		buf := gemmPool.Get().(*gemmBuf)
		for _, j := range jobs {
			run(j, buf)
		}
		gemmPool.Put(buf)
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := gemmPool.Get().(*gemmBuf)
			defer gemmPool.Put(buf)
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(jobs) {
					return
				}
				run(jobs[i], buf)
			}
		}()
	}
	wg.Wait()
}

// packA copies the mc×kc block of A at (i0, p0) into 6-row panels: panel r holds,
// for each p, the 6 values A[i0+r·6+i][p0+p] (zero past the last row).
func packA(dst, a []float32, lda, i0, p0, mc, kc int) {
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir*kc : ir*kc+mr*kc]
		rows := min(mr, mc-ir)
		for i := 0; i < mr; i++ {
			if i >= rows {
				for p := 0; p < kc; p++ {
					panel[p*mr+i] = 0
				}
				continue
			}
			src := a[(i0+ir+i)*lda+p0:][:kc]
			for p, v := range src {
				panel[p*mr+i] = v
			}
		}
	}
}

// packB copies the kc×nc block of op(B) at (p0, j0) into 16-column panels.
func packB(dst, b []float32, ldb int, transB bool, p0, j0, kc, nc int) {
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : jr*kc+nr*kc]
		cols := min(nr, nc-jr)
		if !transB {
			for p := 0; p < kc; p++ {
				row := panel[p*nr : p*nr+nr]
				n := copy(row[:cols], b[(p0+p)*ldb+j0+jr:][:cols])
				clear(row[n:])
			}
			continue
		}
		for j := 0; j < nr; j++ {
			if j >= cols {
				for p := 0; p < kc; p++ {
					panel[p*nr+j] = 0
				}
				continue
			}
			src := b[(j0+jr+j)*ldb+p0:][:kc]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
	}
}
