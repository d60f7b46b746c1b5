package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"unsafe"
)

// The expected values below are PyTorch 2.6's (Debian trixie): the views are
// made with x.conj() and torch._neg_view(x), and the values read back with
// .resolve_conj().resolve_neg() (bits through .view(torch.intN)).

func complex64Bytes(v ...complex64) []byte {
	b := make([]byte, 8*len(v))
	for i, z := range v {
		binary.LittleEndian.PutUint32(b[8*i:], math.Float32bits(real(z)))
		binary.LittleEndian.PutUint32(b[8*i+4:], math.Float32bits(imag(z)))
	}
	return b
}

func u32s(b []byte) []uint32 {
	out := make([]uint32, len(b)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}

func TestConjNegComplex(t *testing.T) {
	// st = tensor([1+2j, -3-0j, 0+5j, 4-1j, 0j, -0.5+0.25j], complex64) (Python makes -3-0j
	// complex(-3, +0.0)); v = st.view(2,3).t()
	data := complex64Bytes(complex(1, 2), complex(-3, 0), complex(0, 5), complex(4, -1), 0, complex(-0.5, 0.25))
	orig := bytes.Clone(data)
	view := func() *Tensor {
		return &Tensor{Storage: NewStorage(Complex64, data), DType: Complex64, Shape: []int64{3, 2}, Strides: []int64{1, 3}}
	}
	// torch._neg_view(v.conj()): int32 bits of the resolved values
	want := []int32{-1082130432, 1073741824, -1065353216, -1082130432, 1077936128, 0,
		-2147483648, 0, -2147483648, 1084227584, 1056964608, 1048576000}
	x := view()
	x.Conj, x.Neg = true, true
	b, err := x.ContiguousBytes()
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		if got := int32(u32s(b)[i]); got != w {
			t.Fatalf("neg+conj element word %d: %#x, PyTorch %#x", i, uint32(got), uint32(w))
		}
	}
	// v.conj(): (1,-2) (4,1) (-3,-0) (0,-0) (0,-5) (-0.5,-0.25)
	x = view()
	x.Conj = true
	b, err = x.ContiguousBytes()
	if err != nil {
		t.Fatal(err)
	}
	nz := float32(math.Copysign(0, -1))
	wantC := complex64Bytes(complex(1, -2), complex(4, 1), complex(-3, nz), complex(0, nz), complex(0, -5), complex(-0.5, -0.25))
	if !bytes.Equal(b, wantC) {
		t.Fatalf("conj: %x, PyTorch %x", b, wantC)
	}
	if !bytes.Equal(data, orig) {
		t.Fatal("resolving a view wrote to its storage")
	}
	// Contiguous views are copied too: never the storage's own bytes.
	x = &Tensor{Storage: NewStorage(Complex64, data), DType: Complex64, Shape: []int64{6}, Strides: []int64{1}, Conj: true}
	b, err = x.ContiguousBytes()
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.SliceData(b) == unsafe.SliceData(data) || !bytes.Equal(data, orig) {
		t.Fatal("a contiguous conjugate view handed out (or modified) its storage")
	}
	if got := u32s(b)[1]; got != math.Float32bits(-2) {
		t.Fatalf("conj imag: %#x", got)
	}

	// complex128 [1+2j, 0j].conj(): int64 bits
	c128 := make([]byte, 32)
	binary.LittleEndian.PutUint64(c128[0:], math.Float64bits(1))
	binary.LittleEndian.PutUint64(c128[8:], math.Float64bits(2))
	x, _ = FromBytes(Complex128, []int64{2}, c128)
	x.Conj = true
	b, _ = x.ContiguousBytes()
	want64 := []int64{4607182418800017408, -4611686018427387904, 0, -9223372036854775808}
	for i, w := range want64 {
		if got := int64(binary.LittleEndian.Uint64(b[8*i:])); got != w {
			t.Errorf("complex128 conj word %d: %d, PyTorch %d", i, got, w)
		}
	}

	// complex32 [1+2j, -0.5j] (bits 0x3c00 0x4000 0x8000 0xb800): conj and neg, int16 bits
	c32 := []byte{0x00, 0x3c, 0x00, 0x40, 0x00, 0x80, 0x00, 0xb8}
	for _, tc := range []struct {
		conj, neg bool
		want      []int16
	}{
		{true, false, []int16{15360, -16384, -32768, 14336}},
		{false, true, []int16{-17408, -16384, 0, 14336}},
	} {
		x, _ = FromBytes(Complex32, []int64{2}, bytes.Clone(c32))
		x.Conj, x.Neg = tc.conj, tc.neg
		b, err = x.ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if got := int16(binary.LittleEndian.Uint16(b[2*i:])); got != w {
				t.Errorf("complex32 conj=%v neg=%v half %d: %d, PyTorch %d", tc.conj, tc.neg, i, got, w)
			}
		}
	}
}

func TestNegReal(t *testing.T) {
	// x = tensor([[1.5, -2, 0], [3.25, -0.0, 7]]); torch._neg_view(x.t())
	x := FromFloat32([]int64{2, 3}, []float32{1.5, -2, 0, 3.25, float32(math.Copysign(0, -1)), 7})
	v := &Tensor{Storage: x.Storage, DType: Float32, Shape: []int64{3, 2}, Strides: []int64{1, 3}, Neg: true}
	got, err := v.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-1.5, -3.25, 2, 0, float32(math.Copysign(0, -1)), -7}
	if !equalBits(got, want) {
		t.Fatalf("neg view: %v, PyTorch %v", got, want)
	}
	// Contiguous float32: Float32s must not alias the storage when Neg is set.
	c := &Tensor{Storage: x.Storage, DType: Float32, Shape: []int64{6}, Strides: []int64{1}, Neg: true}
	f, err := c.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := x.Storage.Bytes()
	if unsafe.Pointer(unsafe.SliceData(f)) == unsafe.Pointer(unsafe.SliceData(sb)) {
		t.Fatal("Float32s of a negative view aliases its storage")
	}
	if f[0] != -1.5 || f[4] != 0 || math.Signbit(float64(f[4])) {
		t.Fatalf("Float32s of a negative view: %v", f)
	}

	f64 := FromFloat64([]int64{4}, []float64{1, -2, 0, 65504})
	f64.Neg = true
	g64, _ := f64.Float64s()
	if w := []float64{-1, 2, math.Copysign(0, -1), -65504}; !equalBits(g64, w) {
		t.Errorf("float64 neg: %v, PyTorch %v", g64, w)
	}

	// Integers wrap: int8 [0 1 -128 127] → [0 -1 -128 -127]; uint8 [0 1 255] → [0 255 1];
	// int16 [-32768 32767 1 0] → [-32768 -32767 -1 0]; int32 [-2^31 7] → [-2^31 -7];
	// int64 [-2^63 5] → [-2^63 -5].
	ints := []struct {
		dt   DType
		in   []byte
		want []int64
	}{
		{Int8, []byte{0, 1, 0x80, 0x7f}, []int64{0, -1, -128, -127}},
		{Uint8, []byte{0, 1, 255}, []int64{0, 255, 1}},
		{Int16, []byte{0x00, 0x80, 0xff, 0x7f, 1, 0, 0, 0}, []int64{-32768, -32767, -1, 0}},
		{Int32, []byte{0, 0, 0, 0x80, 7, 0, 0, 0}, []int64{math.MinInt32, -7}},
		{Int64, []byte{0, 0, 0, 0, 0, 0, 0, 0x80, 5, 0, 0, 0, 0, 0, 0, 0}, []int64{math.MinInt64, -5}},
	}
	for _, tc := range ints {
		x, err := FromBytes(tc.dt, []int64{int64(len(tc.want))}, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		x.Neg = true
		got, err := x.Int64s()
		if err != nil {
			t.Fatal(err)
		}
		if !equalSlices(got, tc.want) {
			t.Errorf("%s neg: %v, PyTorch %v", tc.dt, got, tc.want)
		}
	}
	// uint16 has no neg kernel in PyTorch 2.6; modulo 2^16 as uint8's: -(1) = 65535.
	u16, _ := FromBytes(Uint16, []int64{2}, []byte{1, 0, 0, 0})
	u16.Neg = true
	if got, _ := u16.Int64s(); !equalSlices(got, []int64{65535, 0}) {
		t.Errorf("uint16 neg: %v", got)
	}
}

func TestNegHalfBits(t *testing.T) {
	// PyTorch's vectorised neg (a tensor of 60+ elements) flips the sign bit, NaN
	// payloads included: float16 0x7c01 0x7e00 0x0000 0x8000 0x7d00 →
	// 0xfc01 0xfe00 0x8000 0x0000 0xfd00; bfloat16 0x7f81 0x7fc0 0x0000 0xffc1 →
	// 0xff81 0xffc0 0x8000 0x7fc1.
	for _, tc := range []struct {
		dt       DType
		in, want []uint16
	}{
		{Float16, []uint16{0x7c01, 0x7e00, 0x0000, 0x8000, 0x7d00}, []uint16{0xfc01, 0xfe00, 0x8000, 0x0000, 0xfd00}},
		{BFloat16, []uint16{0x7f81, 0x7fc0, 0x0000, 0xffc1}, []uint16{0xff81, 0xffc0, 0x8000, 0x7fc1}},
	} {
		b := make([]byte, 2*len(tc.in))
		for i, v := range tc.in {
			binary.LittleEndian.PutUint16(b[2*i:], v)
		}
		x, _ := FromBytes(tc.dt, []int64{int64(len(tc.in))}, b)
		x.Neg = true
		out, err := x.ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if got := binary.LittleEndian.Uint16(out[2*i:]); got != w {
				t.Errorf("%s neg of %#04x: %#04x, want %#04x", tc.dt, tc.in[i], got, w)
			}
		}
		// Convert of a negative view converts its values.
		c, err := x.Convert(Float32)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := c.Float32s()
		if f[2] != 0 || !math.Signbit(float64(f[2])) || c.Neg {
			t.Errorf("%s: Convert of a negative view: %v (Neg %v)", tc.dt, f, c.Neg)
		}
	}
}

func TestNegFloat8(t *testing.T) {
	in := []byte{0x00, 0x80, 0x7f, 0x01, 0xff, 0x40}
	for _, tc := range []struct {
		dt   DType
		want []byte
	}{
		// IEEE-like formats: the sign bit flips (-0 exists; NaNs keep their bits otherwise).
		{Float8E4M3FN, []byte{0x80, 0x00, 0xff, 0x81, 0x7f, 0xc0}},
		{Float8E5M2, []byte{0x80, 0x00, 0xff, 0x81, 0x7f, 0xc0}},
		// fnuz: 0x00 is the only zero and 0x80 the only NaN; both negate to themselves.
		{Float8E4M3FNUZ, []byte{0x00, 0x80, 0xff, 0x81, 0x7f, 0xc0}},
		{Float8E5M2FNUZ, []byte{0x00, 0x80, 0xff, 0x81, 0x7f, 0xc0}},
	} {
		x, _ := FromBytes(tc.dt, []int64{int64(len(in))}, bytes.Clone(in))
		x.Neg = true
		got, err := x.ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s neg: % x, want % x", tc.dt, got, tc.want)
		}
		// Values agree with negating the decoded values (NaNs aside).
		v, _ := x.Float32s()
		x.Neg = false
		u, _ := x.Float32s()
		for i := range v {
			if !math.IsNaN(float64(u[i])) && v[i] != -u[i] {
				t.Errorf("%s: -(%v) read as %v", tc.dt, u[i], v[i])
			}
		}
	}
}

func TestConjNegInvalid(t *testing.T) {
	for _, tc := range []struct {
		dt        DType
		conj, neg bool
	}{
		{Float32, true, false}, // PyTorch: INTERNAL ASSERT isComplexType
		{Int64, true, false},
		{Bool, false, true}, // PyTorch: "neg_cpu" not implemented for 'Bool'
		{Float8E8M0FNU, false, true},
		{QInt8, false, true},
	} {
		x := Zeros(tc.dt, 2)
		x.Conj, x.Neg = tc.conj, tc.neg
		if err := x.Validate(); !errors.Is(err, ErrDType) {
			t.Errorf("%s conj=%v neg=%v: Validate %v, want ErrDType", tc.dt, tc.conj, tc.neg, err)
		}
		if _, err := x.ContiguousBytes(); !errors.Is(err, ErrDType) {
			t.Errorf("%s conj=%v neg=%v: ContiguousBytes %v, want ErrDType", tc.dt, tc.conj, tc.neg, err)
		}
	}
}

func TestResolveAndEqual(t *testing.T) {
	z := complex64Bytes(complex(1, 2), complex(3, -4))
	x, _ := FromBytes(Complex64, []int64{2}, z)
	x.Conj, x.RequiresGrad = true, true
	r, err := x.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r == x || r.Conj || r.Neg || !r.RequiresGrad || r.Storage == x.Storage {
		t.Fatalf("Resolve: %+v", r)
	}
	want, _ := FromBytes(Complex64, []int64{2}, complex64Bytes(complex(1, -2), complex(3, 4)))
	if !Equal(r, want) || !Equal(x, want) {
		t.Fatal("a conjugate view and its resolved values differ")
	}
	plain, _ := FromBytes(Complex64, []int64{2}, z)
	if Equal(x, plain) {
		t.Fatal("a conjugate view equals its storage's plain values")
	}
	if p, _ := plain.Resolve(); p != plain {
		t.Fatal("Resolve of a tensor without bits should return it")
	}
	// x.conj().imag in PyTorch is a float32 negative view at offset 1, stride 2: [-2, 4].
	im := &Tensor{Storage: NewStorage(Float32, z), DType: Float32, Shape: []int64{2}, Strides: []int64{2}, Offset: 1, Neg: true}
	if f, _ := im.Float32s(); !equalSlices(f, []float32{-2, 4}) {
		t.Fatalf("conj().imag: %v, PyTorch [-2 4]", f)
	}
}

// A StorageArena's storages are the package function's, as distinct objects.
func TestStorageArena(t *testing.T) {
	var a StorageArena
	le := []byte{1, 2, 3, 4}
	be := []byte{0, 1, 0, 2}
	var prev *Storage
	for i := 0; i < 600; i++ {
		for _, c := range []struct {
			b   []byte
			big bool
		}{{le, false}, {be, true}} {
			got, want := a.NewStorageOrder(Int16, c.b, c.big), NewStorageOrder(Int16, c.b, c.big)
			gb, err1 := got.Bytes()
			wb, err2 := want.Bytes()
			if err1 != nil || err2 != nil || string(gb) != string(wb) || got.NBytes != want.NBytes || got.Location != want.Location {
				t.Fatalf("arena storage %v %v differs from NewStorageOrder's %v %v", gb, err1, wb, err2)
			}
			if got == prev {
				t.Fatal("arena handed out the same storage twice")
			}
			prev = got
		}
	}
}
