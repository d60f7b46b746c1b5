package tensor

import (
	"bytes"
	"fmt"
	"math/bits"
	"unsafe"
)

// words views b as a slice of W, or returns nil if b is not aligned for W.
// Copies through it move whole elements, so the host's byte order is irrelevant.
func words[W uint16 | uint32 | uint64](b []byte) []W {
	var w W
	size := int(unsafe.Sizeof(w))
	if len(b) < size || uintptr(unsafe.Pointer(&b[0]))%uintptr(size) != 0 {
		return nil
	}
	return unsafe.Slice((*W)(unsafe.Pointer(&b[0])), len(b)/size)
}

// ContiguousStrides returns the row-major (C-contiguous) strides of shape, in elements.
func ContiguousStrides(shape []int64) []int64 {
	st := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		if shape[i] > 1 {
			acc *= shape[i]
		}
	}
	return st
}

// numel returns the product of shape, or ok=false on a negative dimension or overflow.
func numel(shape []int64) (n int64, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > 1<<63-1 {
			return 0, false
		}
		n = int64(lo)
	}
	return n, true
}

// Dim returns the number of dimensions.
func (t *Tensor) Dim() int { return len(t.Shape) }

// Numel returns the number of elements (the product of Shape; 1 for a scalar).
// It returns -1 if the shape is invalid (a negative dimension or int64 overflow);
// Validate reports such shapes as errors.
func (t *Tensor) Numel() int64 {
	n, ok := numel(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// Validate checks that the view is well-formed and lies inside its storage:
// ranks match, dimensions, strides and offset are non-negative, and
// offset + Σ(size−1)·stride < storage elements, all with overflow-checked arithmetic.
// A conjugate bit needs a complex dtype and a negative bit a dtype with a
// negation (not bool, quantized or float8_e8m0fnu); ErrDType otherwise.
// Tensors with zero elements are valid whatever their strides and offset.
func (t *Tensor) Validate() error {
	if t.Storage == nil {
		return fmt.Errorf("%w: no storage", ErrShape)
	}
	if !t.DType.Valid() {
		return fmt.Errorf("%w: dtype %d", ErrDType, t.DType)
	}
	if err := t.checkFlags(); err != nil {
		return err
	}
	if len(t.Strides) != len(t.Shape) {
		return fmt.Errorf("%w: %d strides for %d dimensions", ErrShape, len(t.Strides), len(t.Shape))
	}
	if t.Offset < 0 {
		return fmt.Errorf("%w: negative storage offset %d", ErrShape, t.Offset)
	}
	for i := range t.Shape {
		if t.Shape[i] < 0 {
			return fmt.Errorf("%w: dimension %d is %d", ErrShape, i, t.Shape[i])
		}
		if t.Strides[i] < 0 {
			return fmt.Errorf("%w: stride %d is %d", ErrShape, i, t.Strides[i])
		}
	}
	n, ok := numel(t.Shape)
	if !ok {
		return fmt.Errorf("%w: element count of %v overflows", ErrShape, t.Shape)
	}
	if n == 0 {
		return nil
	}
	last, ok := lastIndex(t.Offset, t.Shape, t.Strides)
	if !ok {
		return fmt.Errorf("%w: shape %v strides %v offset %d overflow", ErrBounds, t.Shape, t.Strides, t.Offset)
	}
	es := int64(t.DType.Size())
	if t.Storage.DType.Valid() {
		es = int64(t.Storage.DType.Size())
	}
	// Packed sub-byte dtypes (quint4x2, quint2x4) count bytes in their storage and
	// elements in their tensors.
	elems := t.Storage.NBytes / es * t.DType.ElementsPerByte()
	if last >= elems {
		return fmt.Errorf("%w: shape %v strides %v offset %d needs %d elements, storage %q holds %d",
			ErrBounds, t.Shape, t.Strides, t.Offset, last+1, t.Storage.Key, elems)
	}
	if t.DType.Size() != int(es) {
		return fmt.Errorf("%w: tensor dtype %s over %s storage", ErrDType, t.DType, t.Storage.DType)
	}
	return nil
}

// lastIndex returns offset + Σ(size−1)·stride, checked for overflow; shape must be non-empty in every dim.
func lastIndex(off int64, shape, strides []int64) (int64, bool) {
	acc := uint64(off)
	for i := range shape {
		hi, lo := bits.Mul64(uint64(shape[i]-1), uint64(strides[i]))
		if hi != 0 {
			return 0, false
		}
		var carry uint64
		acc, carry = bits.Add64(acc, lo, 0)
		if carry != 0 || acc > 1<<63-1 {
			return 0, false
		}
	}
	return int64(acc), true
}

// IsContiguous reports whether the elements are laid out row-major without gaps,
// with PyTorch's rule that dimensions of size 1 may have any stride and that
// tensors with no elements are contiguous.
func (t *Tensor) IsContiguous() bool {
	expected := int64(1)
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] == 0 {
			return true
		}
	}
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] == 1 {
			continue
		}
		if t.Strides[i] != expected {
			return false
		}
		expected *= t.Shape[i]
	}
	return true
}

// ContiguousBytes returns the tensor's elements in row-major order as little-endian
// bytes. When the tensor is contiguous and neither a conjugate nor a negative view
// it returns a sub-slice of the storage (zero copy, shared: do not modify it);
// otherwise it returns a new buffer, with the Conj and Neg bits applied.
// It validates the view first.
func (t *Tensor) ContiguousBytes() ([]byte, error) {
	b, owned, err := t.storedBytes()
	if err != nil {
		return nil, err
	}
	return t.resolveFlags(b, owned), nil
}

// storedBytes returns the stored elements of the view in row-major order,
// without the Conj and Neg bits applied, and whether the slice is a new buffer
// (owned) rather than a part of the storage.
func (t *Tensor) storedBytes() (b []byte, owned bool, err error) {
	if err := t.Validate(); err != nil {
		return nil, false, err
	}
	data, err := t.Storage.Bytes()
	if err != nil {
		return nil, false, err
	}
	es := int64(t.DType.Size())
	n := t.Numel()
	if n == 0 {
		return []byte{}, true, nil
	}
	if per := t.DType.ElementsPerByte(); per > 1 {
		// Packed elements: only whole-byte contiguous views can be cut out of the storage.
		if !t.IsContiguous() || t.Offset%per != 0 {
			return nil, false, fmt.Errorf("%w: non-contiguous or byte-misaligned view of packed %s", ErrDType, t.DType)
		}
		return data[t.Offset/per : (t.Offset+n+per-1)/per], false, nil
	}
	if t.IsContiguous() {
		return data[t.Offset*es : (t.Offset+n)*es : (t.Offset+n)*es], false, nil
	}
	out := make([]byte, n*es)
	gather(out, data, es, t.Offset, t.Shape, t.Strides)
	return out, true, nil
}

// gather copies a strided view into dst row-major. The two innermost
// dimensions are copied as a 2-D block (runs when the last stride is 1, cache
// tiles otherwise); an odometer walks the outer dimensions.
func gather(dst, src []byte, es, off int64, shape, strides []int64) {
	nd := len(shape)
	switch nd {
	case 0:
		copy(dst, src[off*es:(off+1)*es])
		return
	case 1:
		copy2D(dst, src, es, off, 1, shape[0], 0, strides[0])
		return
	}
	rows, cols := shape[nd-2], shape[nd-1]
	rs, cs := strides[nd-2], strides[nd-1]
	block := rows * cols * es
	outer := shape[:nd-2]
	idx := make([]int64, len(outer))
	base := off
	for pos := int64(0); ; pos += block {
		copy2D(dst[pos:pos+block], src, es, base, rows, cols, rs, cs)
		d := len(outer) - 1
		for ; d >= 0; d-- {
			idx[d]++
			base += strides[d]
			if idx[d] < outer[d] {
				break
			}
			base -= strides[d] * idx[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// tile is the side of the square blocks a strided 2-D copy works through, so
// that the rows it reads and writes stay in cache.
const tile = 32

// copy2D copies a rows×cols strided block starting at element base of src into
// dst (contiguous, row-major).
func copy2D(dst, src []byte, es, base, rows, cols, rs, cs int64) {
	if cs == 1 {
		for i := int64(0); i < rows; i++ {
			s := (base + i*rs) * es
			copy(dst[i*cols*es:], src[s:s+cols*es])
		}
		return
	}
	for i0 := int64(0); i0 < rows; i0 += tile {
		i1 := min(i0+tile, rows)
		for j0 := int64(0); j0 < cols; j0 += tile {
			j1 := min(j0+tile, cols)
			copyTile(dst, src, es, base, cols, rs, cs, i0, i1, j0, j1)
		}
	}
}

func copyTile(dst, src []byte, es, base, cols, rs, cs, i0, i1, j0, j1 int64) {
	switch es {
	case 4:
		if s, d := words[uint32](src), words[uint32](dst); s != nil && d != nil {
			for i := i0; i < i1; i++ {
				row := base + i*rs
				for j := j0; j < j1; j++ {
					d[i*cols+j] = s[row+j*cs]
				}
			}
			return
		}
	case 2:
		if s, d := words[uint16](src), words[uint16](dst); s != nil && d != nil {
			for i := i0; i < i1; i++ {
				row := base + i*rs
				for j := j0; j < j1; j++ {
					d[i*cols+j] = s[row+j*cs]
				}
			}
			return
		}
	case 8:
		if s, d := words[uint64](src), words[uint64](dst); s != nil && d != nil {
			for i := i0; i < i1; i++ {
				row := base + i*rs
				for j := j0; j < j1; j++ {
					d[i*cols+j] = s[row+j*cs]
				}
			}
			return
		}
	case 1:
		for i := i0; i < i1; i++ {
			row := base + i*rs
			for j := j0; j < j1; j++ {
				dst[i*cols+j] = src[row+j*cs]
			}
		}
		return
	}
	for i := i0; i < i1; i++ {
		row := base + i*rs
		for j := j0; j < j1; j++ {
			s := (row + j*cs) * es
			copy(dst[(i*cols+j)*es:(i*cols+j+1)*es], src[s:s+es])
		}
	}
}

// SameStorage reports whether a and b view the same Storage (tied weights, slices).
func SameStorage(a, b *Tensor) bool {
	return a != nil && b != nil && a.Storage != nil && a.Storage == b.Storage
}

// Equal reports whether a and b have the same dtype, shape and element bytes
// (bitwise: NaNs with equal bits are equal, 0.0 and -0.0 differ), comparing
// values: a conjugate or negative view equals the resolved tensor. Errors
// reading either tensor make them unequal.
func Equal(a, b *Tensor) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.DType != b.DType || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	ab, err := a.ContiguousBytes()
	if err != nil {
		return false
	}
	bb, err := b.ContiguousBytes()
	if err != nil {
		return false
	}
	return bytes.Equal(ab, bb)
}

// FromBytes returns a contiguous tensor of dtype dt and the given shape over data
// (little-endian, not copied). It fails if len(data) is not numel·size.
func FromBytes(dt DType, shape []int64, data []byte) (*Tensor, error) {
	if !dt.Valid() {
		return nil, fmt.Errorf("%w: dtype %d", ErrDType, dt)
	}
	n, ok := numel(shape)
	if !ok {
		return nil, fmt.Errorf("%w: shape %v", ErrShape, shape)
	}
	hi, want := bits.Mul64(uint64(n), uint64(dt.Size()))
	if hi != 0 || want != uint64(len(data)) {
		return nil, fmt.Errorf("%w: shape %v of %s needs %d·%d bytes, have %d", ErrBounds, shape, dt, n, dt.Size(), len(data))
	}
	return &Tensor{
		Storage: NewStorage(dt, data),
		DType:   dt,
		Shape:   append([]int64{}, shape...),
		Strides: ContiguousStrides(shape),
	}, nil
}

// Zeros returns a new contiguous tensor of zeros. It panics if the shape is
// negative or too large, like make.
func Zeros(dt DType, shape ...int64) *Tensor {
	n, ok := numel(shape)
	if !ok || !dt.Valid() {
		panic(fmt.Sprintf("tensor.Zeros: invalid shape %v or dtype %v", shape, dt))
	}
	t, err := FromBytes(dt, shape, make([]byte, n*int64(dt.Size())))
	if err != nil {
		panic(err)
	}
	return t
}

// FromFloat32 returns a new contiguous float32 tensor holding a copy of data.
// It panics if len(data) is not the product of shape.
func FromFloat32(shape []int64, data []float32) *Tensor {
	n, ok := numel(shape)
	if !ok || n != int64(len(data)) {
		panic(fmt.Sprintf("tensor.FromFloat32: %d values for shape %v", len(data), shape))
	}
	b := make([]byte, 4*len(data))
	putFloat32s(b, data)
	t, _ := FromBytes(Float32, shape, b)
	return t
}

// FromFloat64 returns a new contiguous float64 tensor holding a copy of data.
// It panics if len(data) is not the product of shape.
func FromFloat64(shape []int64, data []float64) *Tensor {
	n, ok := numel(shape)
	if !ok || n != int64(len(data)) {
		panic(fmt.Sprintf("tensor.FromFloat64: %d values for shape %v", len(data), shape))
	}
	b := make([]byte, 8*len(data))
	putFloat64s(b, data)
	t, _ := FromBytes(Float64, shape, b)
	return t
}

// FromInt64 returns a new contiguous int64 tensor holding a copy of data.
// It panics if len(data) is not the product of shape.
func FromInt64(shape []int64, data []int64) *Tensor {
	n, ok := numel(shape)
	if !ok || n != int64(len(data)) {
		panic(fmt.Sprintf("tensor.FromInt64: %d values for shape %v", len(data), shape))
	}
	b := make([]byte, 8*len(data))
	putInt64s(b, data)
	t, _ := FromBytes(Int64, shape, b)
	return t
}

// String returns a short description: "float32[3 4]".
func (t *Tensor) String() string {
	return fmt.Sprintf("%s%v", t.DType, t.Shape)
}
