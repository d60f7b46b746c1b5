package tensor

import "testing"

const benchBytes = 100 << 20 // 100 MB

func benchTensor(b *testing.B, transposed bool) *Tensor {
	b.Helper()
	n := int64(benchBytes / 4)
	x, err := FromBytes(Float32, []int64{n / 1024, 1024}, make([]byte, benchBytes))
	if err != nil {
		b.Fatal(err)
	}
	if transposed {
		x.Shape = []int64{1024, n / 1024}
		x.Strides = []int64{1, 1024}
	}
	b.SetBytes(benchBytes)
	b.ResetTimer()
	return x
}

// BenchmarkContiguousBytes: a contiguous view costs nothing (zero copy).
func BenchmarkContiguousBytes(b *testing.B) {
	x := benchTensor(b, false)
	for b.Loop() {
		if _, err := x.ContiguousBytes(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkContiguousBytesTransposed gathers a transposed 100 MB float32 view.
func BenchmarkContiguousBytesTransposed(b *testing.B) {
	x := benchTensor(b, true)
	for b.Loop() {
		if _, err := x.ContiguousBytes(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloat32s: a contiguous float32 tensor is aliased, not copied.
func BenchmarkFloat32s(b *testing.B) {
	x := benchTensor(b, false)
	for b.Loop() {
		if _, err := x.Float32s(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloat32sFromBFloat16 converts 100 MB of bfloat16.
func BenchmarkFloat32sFromBFloat16(b *testing.B) {
	x := Zeros(BFloat16, benchBytes/2)
	b.SetBytes(benchBytes)
	for b.Loop() {
		if _, err := x.Float32s(); err != nil {
			b.Fatal(err)
		}
	}
}
