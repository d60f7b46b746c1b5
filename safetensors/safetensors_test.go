package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pthkit/pth/tensor"
)

// expectedFile is what testdata/gen/st_fixtures.py records next to each fixture.
type expectedFile struct {
	Metadata map[string]string `json:"metadata"`
	Order    []string          `json:"order"`
	Tensors  map[string]struct {
		DType  string          `json:"dtype"`
		Shape  []int64         `json:"shape"`
		Hex    string          `json:"hex"`
		Values json.RawMessage `json:"values"`
	} `json:"tensors"`
}

func loadExpected(t *testing.T, name string) expectedFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "safetensors", name))
	if err != nil {
		t.Fatal(err)
	}
	var e expectedFile
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func fixture(name string) string { return filepath.Join("..", "testdata", "safetensors", name) }

// TestOpenFixtures reads files written by the Python generator's spec writer
// and compares every tensor with PyTorch's bytes.
func TestOpenFixtures(t *testing.T) {
	for _, name := range []string{"all_dtypes", "escapes"} {
		t.Run(name, func(t *testing.T) {
			exp := loadExpected(t, name+".json")
			f, err := Open(fixture(name + ".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !reflect.DeepEqual(f.Metadata, exp.Metadata) {
				t.Errorf("metadata = %q, want %q", f.Metadata, exp.Metadata)
			}
			if got := f.Names(); !reflect.DeepEqual(got, exp.Order) {
				t.Errorf("names = %q, want %q", got, exp.Order)
			}
			for n, e := range exp.Tensors {
				tt, err := f.Tensor(n)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := hex.DecodeString(e.Hex)
				got, err := f.Data(n)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: bytes differ", n)
				}
				code, _ := Code(tt.DType)
				if code != e.DType || !reflect.DeepEqual(tt.Shape, e.Shape) {
					t.Errorf("%s: %s%v, want %s%v", n, code, tt.Shape, e.DType, e.Shape)
				}
				if tt.Storage.NBytes != int64(len(want)) {
					t.Errorf("%s: storage of %d bytes, want %d", n, tt.Storage.NBytes, len(want))
				}
			}
		})
	}
}

// TestValuesFromPyTorch decodes a few tensors by hand and compares them with
// the values PyTorch printed (tolist), so byte order and layout are checked
// against PyTorch itself, not only against the bytes.
func TestValuesFromPyTorch(t *testing.T) {
	exp := loadExpected(t, "all_dtypes.json")
	f, err := Open(fixture("all_dtypes.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want [][][]float64
	if err := json.Unmarshal(exp.Tensors["f32"].Values, &want); err != nil {
		t.Fatal(err)
	}
	b, _ := f.Data("f32")
	for i := 0; i < 8; i++ {
		got := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		w := want[i/4][(i/2)%2][i%2]
		if float64(got) != w {
			t.Errorf("f32[%d] = %v, want %v", i, got, w)
		}
	}
	var wantI64 []int64
	_ = json.Unmarshal(exp.Tensors["i64"].Values, &wantI64)
	b, _ = f.Data("i64")
	for i, w := range wantI64 {
		if got := int64(binary.LittleEndian.Uint64(b[8*i:])); got != w {
			t.Errorf("i64[%d] = %d, want %d", i, got, w)
		}
	}
	var wantBF [][]float64
	_ = json.Unmarshal(exp.Tensors["bf16"].Values, &wantBF)
	b, _ = f.Data("bf16")
	for i := 0; i < 6; i++ {
		got := math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		if float64(got) != wantBF[i/2][i%2] {
			t.Errorf("bf16[%d] = %v, want %v", i, got, wantBF[i/2][i%2])
		}
	}
	var scalar float64
	_ = json.Unmarshal(exp.Tensors["scalar"].Values, &scalar)
	st, _ := f.Tensor("scalar")
	b, _ = f.Data("scalar")
	if len(st.Shape) != 0 || float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) != scalar {
		t.Errorf("scalar: shape %v bytes %x, want 0-d %v", st.Shape, b, scalar)
	}
}

// writeLike writes the tensors of an expected file with Writer.
func writeLike(t *testing.T, exp expectedFile) []byte {
	t.Helper()
	var specs []Spec
	for n, e := range exp.Tensors {
		dt, err := DTypeOf(e.DType)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, Spec{Name: n, DType: dt, Shape: e.Shape})
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, specs, exp.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range w.Order() {
		data, _ := hex.DecodeString(exp.Tensors[s.Name].Hex)
		if err := w.Write(s.Name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWriteMatchesSpecWriter checks that Writer reproduces, byte for byte, the
// files the generator's spec writer made (header text, key order, padding).
func TestWriteMatchesSpecWriter(t *testing.T) {
	for _, name := range []string{"all_dtypes", "escapes"} {
		exp := loadExpected(t, name+".json")
		got := writeLike(t, exp)
		want, err := os.ReadFile(fixture(name + ".safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: written file differs from the fixture\n got %q\nwant %q", name, got[:min(len(got), 300)], want[:min(len(want), 300)])
		}
		// And an independent reader accepts it.
		if err := specRead(got, exp); err != nil {
			t.Errorf("%s: spec reader: %v", name, err)
		}
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(fixture("empty.safetensors"))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("empty file = %v, want %v", buf.Bytes(), want)
	}
}

// TestRustVectors uses the exact bytes of the Rust library's own unit tests
// (safetensors/src/tensor.rs test_serialization / test_empty).
func TestRustVectors(t *testing.T) {
	data := []byte{0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64}
	want := append([]byte{64, 0, 0, 0, 0, 0, 0, 0}, `{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`...)
	want = append(want, data...)
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, []Spec{{"attn.0", tensor.Float32, []int64{1, 2, 3}}}, nil)
	if err := w.Write("attn.0", data); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got %q\nwant %q", buf.Bytes(), want)
	}
	want = []byte{40, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, `{"__metadata__":{"framework":"pt"}}     `...)
	buf.Reset()
	w, _ = NewWriter(&buf, nil, map[string]string{"framework": "pt"})
	_ = w.Close()
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got %q\nwant %q", buf.Bytes(), want)
	}
}

// specRead is an independent reader written from the format text: u64le N,
// N bytes of JSON, offsets relative to the buffer, C order, little-endian.
func specRead(file []byte, exp expectedFile) error {
	n := binary.LittleEndian.Uint64(file)
	if n%8 != 0 {
		return errors.New("header not padded to 8")
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(file[8:8+n], &hdr); err != nil {
		return err
	}
	buf := file[8+n:]
	for name, raw := range hdr {
		if name == "__metadata__" {
			var m map[string]string
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			if !reflect.DeepEqual(m, exp.Metadata) {
				return errors.New("metadata differs")
			}
			continue
		}
		var ti struct {
			DType       string
			Shape       []int64
			DataOffsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &ti); err != nil {
			return err
		}
		e := exp.Tensors[name]
		want, _ := hex.DecodeString(e.Hex)
		if ti.DType != e.DType || !reflect.DeepEqual(ti.Shape, e.Shape) || !bytes.Equal(buf[ti.DataOffsets[0]:ti.DataOffsets[1]], want) {
			return errors.New("tensor " + name + " differs")
		}
	}
	if len(hdr) != len(exp.Tensors)+map[bool]int{true: 1}[exp.Metadata != nil] {
		return errors.New("tensor count differs")
	}
	return nil
}

func TestNewReaderLazy(t *testing.T) {
	exp := loadExpected(t, "all_dtypes.json")
	fh, err := os.Open(fixture("all_dtypes.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	f, err := NewReader(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	for n, e := range exp.Tensors {
		got, err := f.Data(n)
		want, _ := hex.DecodeString(e.Hex)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v, bytes equal %v", n, err, bytes.Equal(got, want))
		}
	}
	if _, err := f.Tensor("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tensor: %v", err)
	}
}

// hdr builds a file from a header text and a data buffer.
func hdr(h string, data int) []byte {
	b := make([]byte, 8, 8+len(h)+data)
	binary.LittleEndian.PutUint64(b, uint64(len(h)))
	b = append(b, h...)
	return append(b, make([]byte, data)...)
}

func TestInvalid(t *testing.T) {
	tooBig := make([]byte, 16)
	binary.LittleEndian.PutUint64(tooBig, MaxHeaderSize+1)
	huge := make([]byte, 16)
	binary.LittleEndian.PutUint64(huge, math.MaxUint64)
	cases := []struct {
		name string
		file []byte
		want error
	}{
		{"short", []byte{1, 2, 3}, ErrHeaderTooSmall},
		{"too large", tooBig, ErrHeaderTooLarge},
		{"max u64", huge, ErrHeaderTooLarge},
		{"past end", hdr("{}", 0)[:9], ErrInvalidHeaderLen},
		{"not utf8", hdr("{\"\xff\":1}", 0), ErrInvalidHeader},
		{"not json", hdr("{", 0), ErrInvalidJSON},
		{"array", hdr("[]", 0), ErrInvalidJSON},
		{"trailing", hdr("{}{}", 0), ErrInvalidJSON},
		{"dup key", hdr(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), ErrDuplicateKey},
		{"dup field", hdr(`{"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, 1), ErrDuplicateKey},
		{"dup metadata", hdr(`{"__metadata__":{},"__metadata__":{}}`, 0), ErrDuplicateKey},
		{"metadata int", hdr(`{"__metadata__":{"a":1}}`, 0), ErrInvalidMetadata},
		{"metadata nested", hdr(`{"__metadata__":{"a":{"b":"c"}}}`, 0), ErrInvalidMetadata},
		{"unknown dtype", hdr(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, 16), ErrUnknownDType},
		{"negative dim", hdr(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, 1), ErrInvalidJSON},
		{"fraction", hdr(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, 1), ErrInvalidJSON},
		{"missing field", hdr(`{"a":{"dtype":"U8","shape":[1]}}`, 1), ErrInvalidJSON},
		{"three offsets", hdr(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, 1), ErrInvalidJSON},
		{"gap", hdr(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), ErrInvalidOffset},
		{"overlap", hdr(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, 3), ErrInvalidOffset},
		{"reversed", hdr(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}`, 0), ErrInvalidOffset},
		{"size mismatch", hdr(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), ErrTensorInvalidInfo},
		{"overflow", hdr(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}`, 4), ErrOverflow},
		{"offset overflow", hdr(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,99999999999999999999]}}`, 1), ErrOverflow},
		{"incomplete", hdr(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 2), ErrIncompleteBuffer},
		{"truncated", hdr(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 1), ErrIncompleteBuffer},
	}
	for _, c := range cases {
		_, err := Parse(c.file)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	// Accepted: unknown fields are ignored, null metadata, old name-ordered files.
	ok := []string{
		`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":[{"x":null}]}}`,
		`{"__metadata__":null,"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`,
	}
	for _, h := range ok {
		if _, err := Parse(hdr(h, 1)); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	f, err := Parse(hdr(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 2))
	if err != nil || strings.Join(f.Names(), ",") != "a,b" {
		t.Errorf("out-of-order header: %v %v", err, f)
	}
}

// TestSubByteDTypes: F4 and F6 tensors (2 and 4/3 elements per byte) are
// validated by bits and readable as bytes, but have no PyTorch dtype.
func TestSubByteDTypes(t *testing.T) {
	f, err := Parse(hdr(`{"a":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]},"b":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[3,6]},"c":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}`, 8))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := f.Data("a"); err != nil || len(d) != 3 {
		t.Errorf("F4 data: %v %d", err, len(d))
	}
	if _, err := f.Tensor("b"); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("F6 tensor: %v", err)
	}
	if _, err := f.Tensor("c"); err != nil {
		t.Errorf("U8 next to F4: %v", err)
	}
	if _, err := Parse(hdr(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2)); !errors.Is(err, ErrTensorInvalidInfo) {
		t.Errorf("3 F4 elements (12 bits): %v", err)
	}
	if _, err := DTypeOf("F4"); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("DTypeOf(F4): %v", err)
	}
}

func TestWriterChecks(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewWriter(&buf, []Spec{{"a", tensor.Float32, nil}, {"a", tensor.Float32, nil}}, nil); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := NewWriter(&buf, []Spec{{"q", tensor.QInt8, nil}}, nil); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("qint8: %v", err)
	}
	w, _ := NewWriter(&buf, []Spec{{"a", tensor.Float32, []int64{2}}, {"b", tensor.Float64, nil}}, nil)
	if err := w.Write("a", make([]byte, 8)); !errors.Is(err, ErrWriteOrder) {
		t.Errorf("order: %v", err) // F64 sorts before F32
	}
	if err := w.Write("b", make([]byte, 4)); !errors.Is(err, ErrWriteSize) {
		t.Errorf("size: %v", err)
	}
	if err := w.WriteFrom("b", bytes.NewReader(make([]byte, 8))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrWriteIncomplete) {
		t.Errorf("incomplete: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "safetensors", "*.safetensors"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "safetensors", "*", "*.safetensors"))
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		for _, n := range file.Names() {
			tt, err := file.Tensor(n)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := file.Data(n)
			if int64(len(d)) != tt.Storage.NBytes {
				t.Fatalf("%s: %d bytes, storage says %d", n, len(d), tt.Storage.NBytes)
			}
		}
	})
}
