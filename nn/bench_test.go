package nn

import (
	"testing"

	"github.com/pthkit/pth/internal/benchtools/cputime"
)

// BenchmarkLinear4096 is Linear(4096, 4096) on a batch of 64 (see BENCHMARKS.md).
func BenchmarkLinear4096(b *testing.B) {
	l := NewLinear(4096, 4096, true)
	x := Full(0.5, 64, 4096)
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		l.Forward(x)
	}
	b.ReportMetric(float64(cputime.Process()-cpu)/1e6/float64(b.N), "cpu-ms/op")
	b.ReportMetric(2*64*4096*4096*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2d3x3 is a ResNet-style 3×3 convolution, 64→64 channels on 56×56.
func BenchmarkConv2d3x3(b *testing.B) {
	c := NewConv2d(64, 64, [2]int{3, 3}, Conv2dOptions{Padding: [2]int{1, 1}, NoBias: true})
	x := Full(0.5, 1, 64, 56, 56)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Forward(x)
	}
	b.ReportMetric(2*64*64*9*56*56*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
