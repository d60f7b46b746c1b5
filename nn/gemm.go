package nn

import (
	"runtime"
	"sync"
)

// A packed, blocked single-precision GEMM around a 6×16 AVX2/FMA micro-kernel
// (the GotoBLAS/BLIS scheme): C blocks of mcBlock×ncBlock are shared out to
// the CPUs; A is packed once into 6-row panels per kcBlock slice, each job
// packs its B block into 16-column panels, and the kernel computes one 6×16
// tile at a time. gonum's Sgemm (pure Go, no FMA) is
// the fallback where the CPU lacks AVX2/FMA; it runs several times slower.
const (
	mr, nr  = 6, 16
	mcBlock = 96  // rows of A per block (multiple of mr)
	ncBlock = 256 // columns of B per block (multiple of nr)
	kcBlock = 256 // depth per packed slice
)

var gemmPool = sync.Pool{New: func() any { return &gemmBuf{b: make([]float32, kcBlock*ncBlock)} }}

type gemmBuf struct {
	b    []float32
	tile [mr * nr]float32
}

// packedAPool recycles the buffer holding all of A packed.
var packedAPool = sync.Pool{New: func() any { return new([]float32) }}

// gemm computes C = A·op(B) + beta·C for row-major A (m×k, lda), B (k×n, ldb;
// or n×k when transB) and C (m×n, ldc). beta must be 0 or 1.
//
// A is packed once, whole (block (i0, p0) of mc×kc at i0·k + p0·mcr, mcr being mc
// rounded up to whole panels); each job then packs the B block it needs.
func gemm(m, n, k int, a []float32, lda int, transB bool, b []float32, ldb int, beta float32, c []float32, ldc int) {
	pa := packedAPool.Get().(*[]float32)
	defer packedAPool.Put(pa)
	need := (m + mr - 1) / mr * mr * k
	if cap(*pa) < need {
		*pa = make([]float32, need)
	}
	ap := (*pa)[:need]
	roundUp := func(x int) int { return (x + mr - 1) / mr * mr }
	for i0 := 0; i0 < m; i0 += mcBlock {
		mc := min(mcBlock, m-i0)
		for p0 := 0; p0 < k; p0 += kcBlock {
			packA(ap[i0*k+p0*roundUp(mc):], a, lda, i0, p0, mc, min(kcBlock, k-p0))
		}
	}
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
			pa := ap[j.i0*k+p0*roundUp(mc):]
			packB(buf.b, b, ldb, transB, p0, j.j0, kc, nc)
			accumulate := p0 > 0 || beta != 0
			for jr := 0; jr < nc; jr += nr {
				for ir := 0; ir < mc; ir += mr {
					rows, cols := min(mr, mc-ir), min(nr, nc-jr)
					if rows == mr && cols == nr {
						kern6x16c(kc, &pa[ir*kc], &buf.b[jr*kc], &c[(j.i0+ir)*ldc+j.j0+jr], ldc, accumulate)
						continue
					}
					kern6x16(kc, &pa[ir*kc], &buf.b[jr*kc], &buf.tile[0])
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
	var rows [mr][]float32
	zero := make([]float32, kc)
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir*kc : ir*kc+mr*kc]
		for i := range rows {
			if ir+i < mc {
				rows[i] = a[(i0+ir+i)*lda+p0:][:kc]
			} else {
				rows[i] = zero
			}
		}
		r0, r1, r2, r3, r4, r5 := rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]
		for p := 0; p < kc; p++ {
			d := (*[mr]float32)(panel[p*mr:])
			d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		}
	}
}

// packB copies the kc×nc block of op(B) at (p0, j0) into 16-column panels.
func packB(dst, b []float32, ldb int, transB bool, p0, j0, kc, nc int) {
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : jr*kc+nr*kc]
		cols := min(nr, nc-jr)
		if !transB {
			if cols == nr {
				for p := 0; p < kc; p++ {
					*(*[nr]float32)(panel[p*nr:]) = *(*[nr]float32)(b[(p0+p)*ldb+j0+jr:])
				}
				continue
			}
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
