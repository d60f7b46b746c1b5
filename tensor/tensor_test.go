package tensor

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"sync"
	"testing"
)

// tensorGolden is tensor/testdata/tensor_golden.json from testdata/gen/tensor_golden.py (PyTorch 1.13).
type tensorGolden struct {
	DTypes []struct {
		Name, Storage, Numpy      string
		Size                      int
		Float, Complex, Quantized bool
	}
	Views []struct {
		Shape, Strides []int64
		Offset         int64
		Storage        int64
		Contiguous     bool
		Elements       []int64
	}
	Convert     map[string]json.RawMessage
	Elementwise json.RawMessage
	Quantized   json.RawMessage
}

func loadTensorGolden(t *testing.T) *tensorGolden {
	t.Helper()
	b, err := os.ReadFile("testdata/tensor_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g tensorGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.DTypes) < 18 || len(g.Views) < 10 {
		t.Fatalf("golden too small")
	}
	return &g
}

func TestDTypeTableMatchesTorch(t *testing.T) {
	g := loadTensorGolden(t)
	for _, want := range g.DTypes {
		d, ok := ParseTorchName("torch." + want.Name)
		if !ok {
			t.Errorf("ParseTorchName(%q) failed", want.Name)
			continue
		}
		if d.String() != want.Name || d.Size() != want.Size || d.StorageClass() != want.Storage ||
			d.IsFloatingPoint() != want.Float || d.IsComplex() != want.Complex || d.IsQuantized() != want.Quantized ||
			d.NumpyDescr() != want.Numpy {
			t.Errorf("%s: got name %s size %d storage %q float %v complex %v quant %v numpy %q; torch %+v",
				want.Name, d, d.Size(), d.StorageClass(), d.IsFloatingPoint(), d.IsComplex(), d.IsQuantized(), d.NumpyDescr(), want)
		}
		if want.Storage != "" {
			if p, ok := ParseStorageClass("torch." + want.Storage); !ok || p != d {
				t.Errorf("ParseStorageClass(%q) = %v, %v", want.Storage, p, ok)
			}
		}
		if want.Numpy != "" {
			if p, ok := ParseNumpyDescr(want.Numpy); !ok || p != d {
				t.Errorf("ParseNumpyDescr(%q) = %v, %v", want.Numpy, p, ok)
			}
		}
	}
}

// The dtypes PyTorch 1.13 lacks, and names from other specs: the safetensors
// codes (safetensors' Dtype enum), the C++ ScalarType storage names TorchScript
// writes (c10/core/ScalarType.h), PyTorch's aliases.
func TestDTypeNamesFromSpecs(t *testing.T) {
	for name, want := range map[string]DType{
		"float8_e5m2": Float8E5M2, "float8_e4m3fn": Float8E4M3FN, "float8_e5m2fnuz": Float8E5M2FNUZ,
		"float8_e4m3fnuz": Float8E4M3FNUZ, "float8_e8m0fnu": Float8E8M0FNU, "uint16": Uint16, "uint32": Uint32,
		"uint64": Uint64, "half": Float16, "float": Float32, "double": Float64, "long": Int64, "int": Int32,
		"short": Int16, "cfloat": Complex64, "cdouble": Complex128, "chalf": Complex32,
	} {
		if got, ok := ParseTorchName(name); !ok || got != want {
			t.Errorf("ParseTorchName(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for code, want := range map[string]DType{
		"F32": Float32, "F64": Float64, "F16": Float16, "BF16": BFloat16, "F8_E5M2": Float8E5M2,
		"F8_E4M3": Float8E4M3FN, "F8_E8M0": Float8E8M0FNU, "I8": Int8, "I16": Int16, "I32": Int32, "I64": Int64,
		"U8": Uint8, "U16": Uint16, "U32": Uint32, "U64": Uint64, "BOOL": Bool, "C64": Complex64,
	} {
		if got, ok := ParseSafetensorsName(code); !ok || got != want || want.SafetensorsName() != code {
			t.Errorf("safetensors %q: got %v, %v; %v names %q", code, got, ok, want, want.SafetensorsName())
		}
	}
	for name, want := range map[string]DType{
		"Float8_e4m3fnStorage": Float8E4M3FN, "Float8_e5m2Storage": Float8E5M2, "Float8_e5m2fnuzStorage": Float8E5M2FNUZ,
		"Float8_e4m3fnuzStorage": Float8E4M3FNUZ, "Float8_e8m0fnuStorage": Float8E8M0FNU, "UInt16Storage": Uint16,
		"ComplexHalfStorage": Complex32, "torch.FloatStorage": Float32, "torch CharStorage": Int8,
		"UntypedStorage": Uint8, "torch.UntypedStorage": Uint8,
	} {
		if got, ok := ParseStorageClass(name); !ok || got != want {
			t.Errorf("ParseStorageClass(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, bad := range []string{"", "Storage", "FooStorage", "torch.float128"} {
		if _, ok := ParseStorageClass(bad); ok {
			t.Errorf("ParseStorageClass(%q) accepted", bad)
		}
		if _, ok := ParseTorchName(bad); ok {
			t.Errorf("ParseTorchName(%q) accepted", bad)
		}
	}
	if d, be, ok := ParseNumpyDescrOrder(">f4"); !ok || !be || d != Float32 {
		t.Errorf(">f4: %v %v %v", d, be, ok)
	}
	if d, be, ok := ParseNumpyDescrOrder(">u1"); !ok || be || d != Uint8 {
		t.Errorf(">u1: %v %v %v", d, be, ok)
	}
	if DType(200).String() != "invalid" || DType(200).Size() != 0 || DType(200).Valid() {
		t.Error("out-of-range dtype not reported invalid")
	}
}

func storageOfInt64s(n int64) *Storage {
	b := make([]byte, 8*n)
	for i := int64(0); i < n; i++ {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(i))
	}
	return NewStorage(Int64, b)
}

func TestViewsMatchTorch(t *testing.T) {
	g := loadTensorGolden(t)
	for _, v := range g.Views {
		x := &Tensor{Storage: storageOfInt64s(v.Storage), DType: Int64, Shape: v.Shape, Strides: v.Strides, Offset: v.Offset}
		if err := x.Validate(); err != nil {
			t.Errorf("%v/%v+%d: %v", v.Shape, v.Strides, v.Offset, err)
			continue
		}
		if x.IsContiguous() != v.Contiguous {
			t.Errorf("%v/%v: IsContiguous %v, torch %v", v.Shape, v.Strides, x.IsContiguous(), v.Contiguous)
		}
		got, err := x.Int64s()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(v.Elements) || int64(len(got)) != x.Numel() {
			t.Errorf("%v/%v: %d elements, torch %d", v.Shape, v.Strides, len(got), len(v.Elements))
			continue
		}
		for i := range got {
			if got[i] != v.Elements[i] {
				t.Errorf("%v/%v+%d: elements %v, torch %v", v.Shape, v.Strides, v.Offset, got, v.Elements)
				break
			}
		}
		// a storage one element short must be refused (unless the view is empty)
		if x.Numel() > 0 {
			short := &Tensor{Storage: storageOfInt64s(v.Storage - 1), DType: Int64, Shape: v.Shape, Strides: v.Strides, Offset: v.Offset}
			if err := short.Validate(); !errors.Is(err, ErrBounds) {
				t.Errorf("%v/%v+%d over %d elements: %v, want ErrBounds", v.Shape, v.Strides, v.Offset, v.Storage-1, err)
			}
		}
	}
}

func TestValidateRejects(t *testing.T) {
	s := storageOfInt64s(10)
	for _, c := range []struct {
		name   string
		x      Tensor
		target error
	}{
		{"negative dim", Tensor{Storage: s, DType: Int64, Shape: []int64{-1}, Strides: []int64{1}}, ErrShape},
		{"negative stride", Tensor{Storage: s, DType: Int64, Shape: []int64{2}, Strides: []int64{-1}}, ErrShape},
		{"negative offset", Tensor{Storage: s, DType: Int64, Shape: []int64{2}, Strides: []int64{1}, Offset: -1}, ErrShape},
		{"rank mismatch", Tensor{Storage: s, DType: Int64, Shape: []int64{2, 2}, Strides: []int64{1}}, ErrShape},
		{"numel overflow", Tensor{Storage: s, DType: Int64, Shape: []int64{1 << 32, 1 << 32}, Strides: []int64{0, 0}}, ErrShape},
		{"stride overflow", Tensor{Storage: s, DType: Int64, Shape: []int64{3}, Strides: []int64{1 << 62}}, ErrBounds},
		{"offset+extent overflow", Tensor{Storage: s, DType: Int64, Shape: []int64{2}, Strides: []int64{1}, Offset: 1<<63 - 1}, ErrBounds},
		{"past end", Tensor{Storage: s, DType: Int64, Shape: []int64{11}, Strides: []int64{1}}, ErrBounds},
		{"scalar past end", Tensor{Storage: s, DType: Int64, Offset: 10}, ErrBounds},
		{"no storage", Tensor{DType: Int64}, ErrShape},
		{"dtype size mismatch", Tensor{Storage: s, DType: Int32, Shape: []int64{1}, Strides: []int64{1}}, ErrDType},
	} {
		if err := c.x.Validate(); !errors.Is(err, c.target) {
			t.Errorf("%s: %v, want %v", c.name, err, c.target)
		}
		if _, err := c.x.ContiguousBytes(); err == nil {
			t.Errorf("%s: ContiguousBytes succeeded", c.name)
		}
	}
	// empty tensors are fine anywhere (PyTorch skips the bounds check when numel is 0)
	empty := Tensor{Storage: NewStorage(Float32, nil), DType: Float32, Shape: []int64{0, 5}, Strides: []int64{5, 1}, Offset: 100}
	if err := empty.Validate(); err != nil {
		t.Errorf("empty: %v", err)
	}
	if v, err := empty.Float32s(); err != nil || len(v) != 0 {
		t.Errorf("empty Float32s: %v %v", v, err)
	}
}

func (g *tensorGolden) list(t *testing.T, key string, dst any) {
	t.Helper()
	if err := json.Unmarshal(g.Convert[key], dst); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

func TestConvertMatchesTorch(t *testing.T) {
	g := loadTensorGolden(t)
	var f64bits []uint64
	var i64s []int64
	g.list(t, "float64", &f64bits)
	g.list(t, "int64", &i64s)
	f64 := make([]float64, len(f64bits))
	for i, b := range f64bits {
		f64[i] = math.Float64frombits(b)
	}
	src := map[string]*Tensor{
		"float64": FromFloat64([]int64{int64(len(f64))}, f64),
		"int64":   FromInt64([]int64{int64(len(i64s))}, i64s),
	}
	for _, from := range []string{"float64", "int64"} {
		for _, c := range []struct {
			name string
			dt   DType
		}{{"float32", Float32}, {"float16", Float16}, {"bfloat16", BFloat16}} {
			var want []uint64
			g.list(t, from+"_to_"+c.name, &want)
			out, err := src[from].Convert(c.dt)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := out.ContiguousBytes()
			bad := 0
			for i := range want {
				var got uint64
				if c.dt == Float32 {
					got = uint64(binary.LittleEndian.Uint32(b[4*i:]))
				} else {
					got = uint64(binary.LittleEndian.Uint16(b[2*i:]))
				}
				if got != want[i] && bad < 10 {
					bad++
					in := any(f64[min(i, len(f64)-1)])
					if from == "int64" {
						in = i64s[i]
					}
					t.Errorf("%s %v → %s: got %#x, torch %#x", from, in, c.name, got, want[i])
				}
			}
		}
	}
	var f32 []float32
	var want []int64
	g.list(t, "float32", &f32)
	g.list(t, "float32_to_int64", &want)
	got, err := FromFloat32([]int64{int64(len(f32))}, f32).Int64s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("float32 %v → int64: %d, torch %d", f32[i], got[i], want[i])
		}
	}
}

func TestSliceConversions(t *testing.T) {
	// int16 values [-2, 0, 3, 7] viewed transposed as 2×2
	b := []byte{0xfe, 0xff, 0, 0, 3, 0, 7, 0}
	x := &Tensor{Storage: NewStorage(Int16, b), DType: Int16, Shape: []int64{2, 2}, Strides: []int64{1, 2}}
	f, err := x.Float32s()
	if err != nil || !equalSlices(f, []float32{-2, 3, 0, 7}) {
		t.Errorf("Float32s: %v %v", f, err)
	}
	d, err := x.Float64s()
	if err != nil || !equalSlices(d, []float64{-2, 3, 0, 7}) {
		t.Errorf("Float64s: %v %v", d, err)
	}
	i, err := x.Int64s()
	if err != nil || !equalSlices(i, []int64{-2, 3, 0, 7}) {
		t.Errorf("Int64s: %v %v", i, err)
	}
	bs, err := x.Bools()
	if err != nil || !equalSlices(bs, []bool{true, true, false, true}) {
		t.Errorf("Bools: %v %v", bs, err)
	}
	c := &Tensor{Storage: NewStorage(Complex64, make([]byte, 8)), DType: Complex64, Shape: []int64{1}, Strides: []int64{1}}
	if _, err := c.Float32s(); !errors.Is(err, ErrDType) {
		t.Errorf("complex Float32s: %v", err)
	}
	if _, err := x.Convert(Int8); !errors.Is(err, ErrDType) {
		t.Errorf("Convert(Int8): %v", err)
	}
	// a contiguous float32 tensor aliases its storage
	ft := FromFloat32([]int64{3}, []float32{1, 2, 3})
	v, _ := ft.Float32s()
	sb, _ := ft.Storage.Bytes()
	if hostLittleEndian && &sb[0] != (*byte)(unsafePointer(&v[0])) {
		t.Error("contiguous float32 Float32s copied")
	}
	// NaN is non-zero for Bools
	nb, _ := FromFloat32([]int64{2}, []float32{float32(math.NaN()), 0}).Bools()
	if !nb[0] || nb[1] {
		t.Errorf("Bools of NaN,0: %v", nb)
	}
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConstructors(t *testing.T) {
	if got := ContiguousStrides([]int64{2, 3, 4}); !equalSlices(got, []int64{12, 4, 1}) {
		t.Errorf("ContiguousStrides: %v", got)
	}
	if got := ContiguousStrides([]int64{2, 0, 4}); !equalSlices(got, []int64{4, 4, 1}) { // torch: (4, 4, 1)
		t.Errorf("ContiguousStrides with 0: %v", got)
	}
	if got := ContiguousStrides(nil); len(got) != 0 {
		t.Errorf("scalar strides: %v", got)
	}
	z := Zeros(BFloat16, 2, 3)
	if z.Numel() != 6 || z.Storage.NBytes != 12 || z.Validate() != nil {
		t.Errorf("Zeros: %+v", z)
	}
	if _, err := FromBytes(Float32, []int64{3}, make([]byte, 11)); !errors.Is(err, ErrBounds) {
		t.Errorf("FromBytes short: %v", err)
	}
	a := FromFloat32([]int64{2}, []float32{1, 2})
	b := FromFloat32([]int64{2}, []float32{1, 2})
	if !Equal(a, b) || SameStorage(a, b) || !SameStorage(a, a) {
		t.Error("Equal/SameStorage")
	}
	if Equal(a, FromFloat32([]int64{1, 2}, []float32{1, 2})) || Equal(a, FromFloat32([]int64{2}, []float32{1, 3})) {
		t.Error("Equal ignores shape or values")
	}
	a.RequiresGrad = true
	c, err := a.Convert(Float16)
	if err != nil || !c.RequiresGrad || c.DType != Float16 || c.Storage.NBytes != 4 {
		t.Errorf("Convert: %+v %v", c, err)
	}
}

// readerAtFunc counts reads so tests can see laziness.
type countingReader struct {
	r     io.ReaderAt
	mu    sync.Mutex
	reads int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}

func TestLazyStorage(t *testing.T) {
	file := []byte("HEADER")
	var be bytes.Buffer
	for _, v := range []float32{1.5, -2, 1e-3} {
		binary.Write(&be, binary.BigEndian, v)
	}
	file = append(file, be.Bytes()...)
	cr := &countingReader{r: bytes.NewReader(file)}
	s := NewLazyStorage(Float32, cr, 6, 12, true)
	if cr.reads != 0 {
		t.Fatal("read on construction")
	}
	x := &Tensor{Storage: s, DType: Float32, Shape: []int64{3}, Strides: []int64{1}}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := x.Float32s()
			if err != nil || !equalSlices(v, []float32{1.5, -2, 1e-3}) {
				t.Errorf("Float32s: %v %v", v, err)
			}
		}()
	}
	wg.Wait()
	if cr.reads != 1 {
		t.Errorf("%d reads, want 1", cr.reads)
	}
	// short source: the error names the offset
	short := NewLazyStorage(Float32, bytes.NewReader(file), 10, 12, false)
	if _, err := short.Bytes(); !errors.Is(err, ErrShortRead) {
		t.Errorf("short: %v", err)
	}
	// a source without Size that ends early
	short2 := NewLazyStorage(Float32, onlyReaderAt{bytes.NewReader(file)}, 10, 12, false)
	if _, err := short2.Bytes(); !errors.Is(err, ErrShortRead) {
		t.Errorf("short (no Size): %v", err)
	}
	// a huge claimed size with no Size method fails without allocating it all
	huge := NewLazyStorage(Uint8, onlyReaderAt{bytes.NewReader(file)}, 0, 1<<50, false)
	if _, err := huge.Bytes(); !errors.Is(err, ErrShortRead) {
		t.Errorf("huge: %v", err)
	}
	// resident big-endian int64 and complex64 swap per element / component
	var b2 bytes.Buffer
	binary.Write(&b2, binary.BigEndian, []int64{1, -2})
	r := NewStorageOrder(Int64, b2.Bytes(), true)
	got, _ := (&Tensor{Storage: r, DType: Int64, Shape: []int64{2}, Strides: []int64{1}}).Int64s()
	if !equalSlices(got, []int64{1, -2}) {
		t.Errorf("big-endian int64: %v", got)
	}
	if b2.Bytes()[7] != 1 {
		t.Error("NewStorageOrder modified its input")
	}
	var b3 bytes.Buffer
	binary.Write(&b3, binary.BigEndian, []float32{1, 2})
	cs := NewStorageOrder(Complex64, b3.Bytes(), true)
	cb, _ := cs.Bytes()
	if math.Float32frombits(binary.LittleEndian.Uint32(cb)) != 1 || math.Float32frombits(binary.LittleEndian.Uint32(cb[4:])) != 2 {
		t.Errorf("complex swap: % x", cb)
	}
}

type onlyReaderAt struct{ r io.ReaderAt }

func (o onlyReaderAt) ReadAt(p []byte, off int64) (int, error) { return o.r.ReadAt(p, off) }

func TestElementwiseMatchesTorch(t *testing.T) {
	g := loadTensorGolden(t)
	var rows []struct {
		DType    string
		Raw      string
		Float64  []uint64
		Float32  []uint32
		Bool     []bool
		Float16  []uint16
		BFloat16 []uint16
		Int64    []int64
	}
	if err := json.Unmarshal(g.Elementwise, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 13 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		dt, ok := ParseTorchName(r.DType)
		if !ok {
			t.Fatalf("dtype %q", r.DType)
		}
		raw, err := hex.DecodeString(r.Raw)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(len(raw) / dt.Size())
		x, err := FromBytes(dt, []int64{n}, raw)
		if err != nil {
			t.Fatal(err)
		}
		f64, err := x.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		f32, _ := x.Float32s()
		bs, _ := x.Bools()
		for i := range r.Float64 {
			if math.Float64bits(f64[i]) != r.Float64[i] && !(f64[i] != f64[i] && math.IsNaN(math.Float64frombits(r.Float64[i]))) {
				t.Errorf("%s[%d] Float64s %v, torch %v", dt, i, f64[i], math.Float64frombits(r.Float64[i]))
			}
			if math.Float32bits(f32[i]) != r.Float32[i] && !(f32[i] != f32[i] && isNaN32(math.Float32frombits(r.Float32[i]))) {
				t.Errorf("%s[%d] Float32s %v, torch %v", dt, i, f32[i], math.Float32frombits(r.Float32[i]))
			}
			if bs[i] != r.Bool[i] {
				t.Errorf("%s[%d] Bools %v, torch %v", dt, i, bs[i], r.Bool[i])
			}
		}
		if r.Int64 != nil {
			i64, _ := x.Int64s()
			i32, _ := x.Int32s()
			for i := range r.Int64 {
				if i64[i] != r.Int64[i] || i32[i] != int32(r.Int64[i]) {
					t.Errorf("%s[%d] Int64s %d Int32s %d, torch %d", dt, i, i64[i], i32[i], r.Int64[i])
				}
			}
		}
		for _, c := range []struct {
			dt   DType
			want []uint16
		}{{Float16, r.Float16}, {BFloat16, r.BFloat16}} {
			if c.want == nil {
				continue
			}
			y, err := x.Convert(c.dt)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := y.ContiguousBytes()
			for i, w := range c.want {
				if got := binary.LittleEndian.Uint16(b[2*i:]); got != w {
					t.Errorf("%s[%d] → %s: %#04x, torch %#04x", dt, i, c.dt, got, w)
				}
			}
		}
		y, err := x.Convert(Float64)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := y.Float64s(); !equalBits(v, f64) {
			t.Errorf("%s → float64: %v, want %v", dt, v, f64)
		}
		y, err = x.Convert(Float32)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := y.Float32s(); !equalBits(v, f32) {
			t.Errorf("%s → float32: %v, want %v", dt, v, f32)
		}
	}
}

func equalBits[F float32 | float64](a, b []F) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

func TestFloat8Tensors(t *testing.T) {
	// every float8 byte through a tensor matches the scalar tables (tested against the spec)
	for _, c := range []struct {
		dt  DType
		dec func(uint8) float32
	}{{Float8E5M2, Float8E5M2ToFloat32}, {Float8E4M3FN, Float8E4M3FNToFloat32}, {Float8E5M2FNUZ, Float8E5M2FNUZToFloat32},
		{Float8E4M3FNUZ, Float8E4M3FNUZToFloat32}, {Float8E8M0FNU, Float8E8M0ToFloat32}} {
		raw := make([]byte, 256)
		for i := range raw {
			raw[i] = byte(i)
		}
		x, _ := FromBytes(c.dt, []int64{256}, raw)
		f, err := x.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		back, err := x.Convert(c.dt)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := back.ContiguousBytes()
		for i := range raw {
			want := c.dec(uint8(i))
			if math.Float32bits(f[i]) != math.Float32bits(want) && !(isNaN32(f[i]) && isNaN32(want)) {
				t.Errorf("%s %#02x: %v, want %v", c.dt, i, f[i], want)
			}
			// finite values survive the round trip exactly
			if !isNaN32(want) && rb[i] != raw[i] && !(want == 0 && c.dt.String() != "float8_e8m0fnu") {
				t.Errorf("%s %#02x: round trip gives %#02x", c.dt, i, rb[i])
			}
		}
	}
}

func TestDequantizeMatchesTorch(t *testing.T) {
	g := loadTensorGolden(t)
	var rows []struct {
		DType       string
		Shape       []int64
		Scheme      string
		Raw         string
		Scale       float64
		ZeroPoint   int64 `json:"zero_point"`
		Axis        int
		Scales      []float64
		ZeroPoints  []int64 `json:"zero_points"`
		Dequantized []uint32
	}
	if err := json.Unmarshal(g.Quantized, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 10 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		dt, ok := ParseTorchName(r.DType)
		if !ok {
			t.Fatalf("dtype %q", r.DType)
		}
		raw, _ := hex.DecodeString(r.Raw)
		x, err := FromBytes(dt, r.Shape, raw)
		if err != nil {
			t.Fatal(err)
		}
		x.Quant = &Quantization{Scheme: r.Scheme, Scale: r.Scale, ZeroPoint: r.ZeroPoint, Axis: r.Axis}
		if r.Scales != nil {
			x.Quant.Scales = FromFloat64([]int64{int64(len(r.Scales))}, r.Scales)
			x.Quant.ZeroPoints = FromInt64([]int64{int64(len(r.ZeroPoints))}, r.ZeroPoints)
		}
		d, err := x.Dequantize()
		if err != nil {
			t.Fatalf("%s %s: %v", r.DType, r.Scheme, err)
		}
		v, _ := d.Float32s()
		bad := 0
		for i, w := range r.Dequantized {
			if math.Float32bits(v[i]) != w && bad < 5 {
				bad++
				t.Errorf("%s %s axis %d [%d]: %v, torch %v", r.DType, r.Scheme, r.Axis, i, v[i], math.Float32frombits(w))
			}
		}
	}
	if _, err := FromFloat32([]int64{1}, []float32{1}).Dequantize(); !errors.Is(err, ErrDType) {
		t.Errorf("Dequantize of float32: %v", err)
	}
}
