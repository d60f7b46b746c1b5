//go:build !amd64

package nn

var haveKernel = false

func kern6x16(k int, a, b, c *float32) { panic("nn: no gemm kernel on this architecture") }

func kern6x16c(k int, a, b, c *float32, ldc int, acc bool) {
	panic("nn: no gemm kernel on this architecture")
}
