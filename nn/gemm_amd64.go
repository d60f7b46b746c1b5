package nn

import "golang.org/x/sys/cpu"

// kern6x16 is the AVX2/FMA micro-kernel in gemm_amd64.s.
//
//go:noescape
func kern6x16(k int, a, b, c *float32)

// kern6x16c computes the same tile into c directly (row stride ldc), adding when acc is set.
//
//go:noescape
func kern6x16c(k int, a, b, c *float32, ldc int, acc bool)

var haveKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA
