package tensor

import (
	"encoding/binary"
	"testing"
)

// FuzzView builds views with arbitrary shapes, strides and offsets over a small
// storage: Validate must refuse every view that reaches outside it, and every
// view it accepts must gather without panicking to exactly numel elements.
func FuzzView(f *testing.F) {
	f.Add([]byte{2, 3, 3, 1}, int64(0), uint8(4))
	f.Add([]byte{3, 2, 1, 3}, int64(1), uint8(2))
	f.Add([]byte{0, 5, 9, 9}, int64(1000), uint8(1))
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 127, 1, 0, 0, 0, 0, 0, 0, 0}, int64(0), uint8(8))
	f.Fuzz(func(t *testing.T, dims []byte, off int64, es uint8) {
		dt := map[uint8]DType{1: Uint8, 2: Float16, 4: Float32, 8: Int64}[es%9]
		if dt == Invalid {
			dt = Uint8
		}
		var shape, strides []int64
		for i := 0; i+1 < len(dims) && len(shape) < 6; i += 2 {
			shape = append(shape, int64(int8(dims[i])))
			strides = append(strides, int64(int8(dims[i+1])))
		}
		if len(dims) >= 16 { // also try huge values
			shape = append(shape, int64(binary.LittleEndian.Uint64(dims)))
			strides = append(strides, int64(binary.LittleEndian.Uint64(dims[8:])))
		}
		x := &Tensor{Storage: NewStorage(dt, make([]byte, 64*dt.Size())), DType: dt, Shape: shape, Strides: strides, Offset: off}
		if err := x.Validate(); err != nil {
			return
		}
		b, err := x.ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != x.Numel()*int64(dt.Size()) {
			t.Fatalf("%d bytes for %d elements", len(b), x.Numel())
		}
	})
}
