package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

func fixture(name string) string { return filepath.Join("..", "testdata", "gguf", name) }

type expected struct {
	Alignment int64                `json:"alignment"`
	KV        [][3]json.RawMessage `json:"kv"`
	Tensors   []struct {
		Name   string          `json:"name"`
		Type   uint32          `json:"type"`
		Shape  []int64         `json:"shape"`
		Ne     []uint64        `json:"ne"`
		Offset uint64          `json:"offset"`
		NBytes int64           `json:"nbytes"`
		Hex    string          `json:"hex"`
		Values json.RawMessage `json:"values"`
	} `json:"tensors"`
}

func loadExpected(t *testing.T) expected {
	b, err := os.ReadFile(fixture("mixed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// jsonOf renders a decoded value the way Python's json module wrote the
// generator's value, for comparison.
func jsonOf(v any) string {
	switch x := v.(type) {
	case Array:
		var inner any = x.Values
		if xs, ok := x.Values.([]Array); ok {
			parts := make([]json.RawMessage, len(xs))
			for i, a := range xs {
				parts[i] = json.RawMessage(jsonOf(a))
			}
			inner = parts
		}
		if xs, ok := x.Values.([]uint8); ok { // not base64
			ints := make([]int, len(xs))
			for i, b := range xs {
				ints[i] = int(b)
			}
			inner = ints
		}
		b, _ := json.Marshal([]any{x.Type, inner})
		return string(b)
	case float32:
		return fmt.Sprint(float64(x))
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func normJSON(raw json.RawMessage) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	_ = d.Decode(&v)
	b, _ := json.Marshal(v)
	return string(b)
}

func TestReadFixture(t *testing.T) {
	exp := loadExpected(t)
	f, err := Open(fixture("mixed.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Version != 3 || f.Alignment != exp.Alignment || f.Architecture() != "llama" {
		t.Errorf("version %d alignment %d arch %q", f.Version, f.Alignment, f.Architecture())
	}
	if len(f.KV) != len(exp.KV) {
		t.Fatalf("%d KVs, want %d", len(f.KV), len(exp.KV))
	}
	for i, kv := range f.KV {
		var key string
		var typ ValueType
		_ = json.Unmarshal(exp.KV[i][0], &key)
		_ = json.Unmarshal(exp.KV[i][1], &typ)
		if kv.Key != key || kv.Type != typ {
			t.Errorf("kv %d: %q %s, want %q %s", i, kv.Key, kv.Type, key, typ)
		}
		if got, want := normJSON(json.RawMessage(jsonOf(kv.Value))), normJSON(exp.KV[i][2]); got != want {
			t.Errorf("kv %q = %s, want %s", key, got, want)
		}
	}
	for i, e := range exp.Tensors {
		ti := f.Tensors[i]
		if ti.Name != e.Name || uint32(ti.Type) != e.Type || !reflect.DeepEqual(ti.Dims, e.Ne) ||
			!reflect.DeepEqual(ti.Shape(), e.Shape) || ti.Offset != e.Offset || ti.NBytes != e.NBytes {
			t.Errorf("tensor %d = %+v, want %+v", i, ti, e)
		}
		data, err := f.Data(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(data) != e.Hex {
			t.Errorf("%s: data differs", e.Name)
		}
		tt, err := f.Tensor(e.Name)
		if ti.Type.Quantized() {
			if !errors.Is(err, ErrQuantized) {
				t.Errorf("%s: quantized tensor gave %v", e.Name, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tt.Shape, e.Shape) {
			t.Errorf("%s: tensor shape %v", e.Name, tt.Shape)
		}
	}
	// Values from PyTorch for the F32 tensor: ne order [4, 3] is torch (3, 4).
	tt, _ := f.Tensor("token_embd.weight")
	got, err := tt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	var want [][]float64
	_ = json.Unmarshal(exp.Tensors[0].Values, &want)
	for i, v := range got {
		if float64(v) != want[i/4][i%4] {
			t.Errorf("token_embd.weight[%d] = %v, want %v", i, v, want[i/4][i%4])
		}
	}
}

// rewrite writes f again with Writer, from what the reader returned.
func rewrite(t *testing.T, f *File) []byte {
	t.Helper()
	var specs []TensorSpec
	for _, ti := range f.Tensors {
		specs = append(specs, TensorSpec{Name: ti.Name, Type: ti.Type, Shape: ti.Shape()})
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, f.KV, specs)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		if i%2 == 1 { // half through WriteFrom(Section), half through Write(Data)
			sec, err := f.Section(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteFrom(s.Name, sec); err != nil {
				t.Fatal(err)
			}
			continue
		}
		d, err := f.Data(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(s.Name, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWriteMatchesSpecWriter: the writer reproduces the generator's files byte
// for byte (metadata of every type, alignment 64 and the default 32, padding).
func TestWriteMatchesSpecWriter(t *testing.T) {
	for _, name := range []string{"mixed.gguf", "default_align.gguf"} {
		f, err := Open(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		got := rewrite(t, f)
		f.Close()
		want, _ := os.ReadFile(fixture(name))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: rewritten file differs (%d vs %d bytes)", name, len(got), len(want))
		}
		if err := specParse(got); err != nil {
			t.Errorf("%s: independent parser: %v", name, err)
		}
	}
}

// specParse is a minimal GGUF reader written from docs/gguf.md, independent of
// the package: it walks the header and checks that each tensor's data lies at
// an aligned offset inside the file.
func specParse(b []byte) error {
	le := binary.LittleEndian
	p := 0
	u32 := func() uint32 { v := le.Uint32(b[p:]); p += 4; return v }
	u64 := func() uint64 { v := le.Uint64(b[p:]); p += 8; return v }
	str := func() string { n := int(u64()); s := string(b[p : p+n]); p += n; return s }
	if string(b[:4]) != "GGUF" {
		return errors.New("magic")
	}
	p = 4
	if u32() != 3 {
		return errors.New("version")
	}
	nt, nkv := u64(), u64()
	align := uint64(32)
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	var skip func(t uint32)
	skip = func(t uint32) {
		switch t {
		case 8:
			str()
		case 9:
			et, n := u32(), u64()
			for i := uint64(0); i < n; i++ {
				skip(et)
			}
		default:
			p += sizes[t]
		}
	}
	for i := uint64(0); i < nkv; i++ {
		k := str()
		t := u32()
		if k == "general.alignment" && t == 4 {
			align = uint64(le.Uint32(b[p:]))
		}
		skip(t)
	}
	type info struct{ off, n uint64 }
	var infos []info
	for i := uint64(0); i < nt; i++ {
		str()
		nd := u32()
		n := uint64(1)
		for j := uint32(0); j < nd; j++ {
			n *= u64()
		}
		typ := u32()
		elem := map[uint32]uint64{0: 4, 1: 2, 30: 2, 24: 1, 25: 2, 26: 4, 27: 8, 28: 8}[typ]
		if typ == 8 {
			n, elem = n/32, 34
		}
		if typ == 12 {
			n, elem = n/256, 144
		}
		infos = append(infos, info{u64(), n * elem})
	}
	data := (uint64(p) + align - 1) / align * align
	for _, in := range infos {
		if in.off%align != 0 || data+in.off+in.n > uint64(len(b)) {
			return fmt.Errorf("tensor at %d+%d outside the file", in.off, in.n)
		}
	}
	return nil
}

func TestWriterTypes(t *testing.T) {
	var buf bytes.Buffer
	kvs := []KV{{"a", TypeArray, Array{TypeInt32, []int32{1, 2}}}, {"b", TypeFloat32, float32(1.5)}, {"c", TypeArray, Array{TypeBool, []bool{true}}}}
	w, err := NewWriter(&buf, kvs, []TensorSpec{{"x", F16, []int64{2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write("x", make([]byte, 12)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.KV, kvs) || !reflect.DeepEqual(f.Tensors[0].Dims, []uint64{3, 2}) {
		t.Errorf("round trip: %+v %+v", f.KV, f.Tensors)
	}
	bad := [][]KV{
		{{"a", TypeUint32, int32(1)}},
		{{"a", TypeArray, Array{TypeInt32, []uint8{1}}}},
		{{"general.alignment", TypeUint32, uint32(12)}},
		{{"a", TypeUint8, uint8(1)}, {"a", TypeUint8, uint8(1)}},
	}
	for _, kv := range bad {
		if _, err := NewWriter(&buf, kv, nil); err == nil {
			t.Errorf("%v accepted", kv)
		}
	}
	for _, shape := range [][]int64{{}, {1, 1, 1, 1, 1}} {
		if _, err := NewWriter(&buf, nil, []TensorSpec{{"x", F32, shape}}); !errors.Is(err, ErrShape) {
			t.Errorf("shape %v: %v", shape, err)
		}
	}
	if _, err := NewWriter(&buf, nil, []TensorSpec{{"q", Q8_0, []int64{3, 31}}}); !errors.Is(err, ErrShape) {
		t.Errorf("Q8_0 with ne0=31: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	good, err := os.ReadFile(fixture("mixed.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation that cuts into a tensor's data fails cleanly (only the
	// last tensor's trailing padding may go).
	g, _ := NewReader(bytes.NewReader(good), int64(len(good)))
	last := g.Tensors[len(g.Tensors)-1]
	end := int(g.DataOffset) + int(last.Offset) + int(last.NBytes)
	for n := 0; n < end; n++ {
		if _, err := NewReader(bytes.NewReader(good[:n]), int64(n)); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
	hdr := func(nt, nkv uint64, rest ...byte) []byte {
		b := []byte("GGUF")
		b = binary.LittleEndian.AppendUint32(b, 3)
		b = binary.LittleEndian.AppendUint64(b, nt)
		b = binary.LittleEndian.AppendUint64(b, nkv)
		return append(b, rest...)
	}
	kv := func(key string, typ uint32, val ...byte) []byte {
		b := appendString(nil, key)
		b = binary.LittleEndian.AppendUint32(b, typ)
		return append(b, val...)
	}
	ti := func(name string, typ uint32, off uint64, dims ...uint64) []byte {
		b := appendString(nil, name)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(dims)))
		for _, d := range dims {
			b = binary.LittleEndian.AppendUint64(b, d)
		}
		b = binary.LittleEndian.AppendUint32(b, typ)
		return binary.LittleEndian.AppendUint64(b, off)
	}
	pad := func(b []byte, n int) []byte { return append(b, make([]byte, n)...) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"magic", []byte("GGML\x03\x00\x00\x00"), ErrFormat},
		{"version", append([]byte("GGUF"), 9, 0, 0, 0), ErrVersion},
		{"big-endian", append([]byte("GGUF"), 0, 0, 0, 3), ErrVersion},
		{"huge tensor count", hdr(math.MaxUint64, 0), ErrLimit},
		{"huge kv count", hdr(0, 1<<40), ErrLimit},
		{"huge string", hdr(0, 1, binary.LittleEndian.AppendUint64(nil, 1<<50)...), ErrLimit},
		{"value type", hdr(0, 1, kv("a", 13, 0)...), ErrValueType},
		{"huge array", hdr(0, 1, kv("a", 9, binary.LittleEndian.AppendUint64([]byte{4, 0, 0, 0}, 1<<60)...)...), ErrLimit},
		{"dup key", hdr(0, 2, cat(kv("a", 0, 1), kv("a", 0, 1))...), ErrDuplicateKey},
		{"alignment type", hdr(0, 1, kv("general.alignment", 0, 8)...), ErrAlignment},
		{"alignment zero", hdr(0, 1, kv("general.alignment", 4, 0, 0, 0, 0)...), ErrAlignment},
		{"unknown ggml type", pad(hdr(1, 0, ti("t", 99, 0, 1)...), 64), ErrUnknownType},
		{"too many dims", pad(hdr(1, 0, ti("t", 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1)...), 64), ErrShape},
		{"dims overflow", pad(hdr(1, 0, ti("t", 0, 0, 1<<62, 1<<62)...), 64), ErrShape},
		{"block size", pad(hdr(1, 0, ti("t", 8, 0, 31)...), 64), ErrShape},
		{"unaligned offset", pad(hdr(1, 0, ti("t", 0, 4, 1)...), 64), ErrOffset},
		{"past end", pad(hdr(1, 0, ti("t", 0, 0, 100)...), 64), ErrOffset},
		{"overlap", pad(hdr(2, 0, cat(ti("a", 0, 0, 16), ti("b", 0, 32, 16))...), 200), ErrOffset},
		{"dup tensor", pad(hdr(2, 0, cat(ti("a", 0, 0, 1), ti("a", 0, 32, 1))...), 200), ErrDuplicateKey},
	}
	for _, c := range cases {
		_, err := NewReader(bytes.NewReader(c.b), int64(len(c.b)))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestArrayCountNotTrusted: a string array whose count the file could hold
// but whose data is not there fails without allocating for the count.
func TestArrayCountNotTrusted(t *testing.T) {
	const n = 1 << 20
	b := []byte("GGUF")
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint64(b, 1)
	b = appendString(b, "tokens")
	b = binary.LittleEndian.AppendUint32(b, uint32(TypeArray))
	b = binary.LittleEndian.AppendUint32(b, uint32(TypeString))
	b = binary.LittleEndian.AppendUint64(b, n)
	b = binary.LittleEndian.AppendUint64(b, 1<<40) // the first string claims a terabyte
	b = append(b, make([]byte, 8*n)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewReader(bytes.NewReader(b), int64(len(b)))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrLimit) {
		t.Errorf("err = %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("allocated %d bytes for a %d-element claim", grew, n)
	}
}

func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(fixture("*.gguf"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, ti := range g.Tensors {
			d, err := g.Data(ti.Name)
			if err != nil || int64(len(d)) != ti.NBytes {
				t.Fatalf("%s: %v, %d bytes of %d", ti.Name, err, len(d), ti.NBytes)
			}
		}
	})
}
