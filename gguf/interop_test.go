package gguf_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	parser "github.com/gpustack/gguf-parser-go"

	"github.com/pthkit/pth/gguf"
)

// TestGGUFParserGo reads the fixtures, and files written by this package,
// with gpustack/gguf-parser-go, an independent reader (test-only dependency),
// and checks that it sees the same metadata, tensor infos and data offset.
func TestGGUFParserGo(t *testing.T) {
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "gguf", "*.gguf"))
	// Every unquantized type, 1 to 4 dimensions, quantized headers, and
	// metadata of every value type including nested arrays.
	written := filepath.Join(dir, "written.gguf")
	kvs := []gguf.KV{
		{Key: "general.architecture", Type: gguf.TypeString, Value: "pth"},
		{Key: "general.alignment", Type: gguf.TypeUint32, Value: uint32(64)},
		{Key: "a.u8", Type: gguf.TypeUint8, Value: uint8(7)},
		{Key: "a.i16", Type: gguf.TypeInt16, Value: int16(-3)},
		{Key: "a.u64", Type: gguf.TypeUint64, Value: uint64(1 << 63)},
		{Key: "a.f64", Type: gguf.TypeFloat64, Value: 2.5},
		{Key: "a.bool", Type: gguf.TypeBool, Value: false},
		{Key: "a.f32s", Type: gguf.TypeArray, Value: gguf.Array{Type: gguf.TypeFloat32, Values: []float32{1, -0.5}}},
		{Key: "a.strs", Type: gguf.TypeArray, Value: gguf.Array{Type: gguf.TypeString, Values: []string{"x", "yz"}}},
		{Key: "a.nested", Type: gguf.TypeArray, Value: gguf.Array{Type: gguf.TypeArray, Values: []gguf.Array{
			{Type: gguf.TypeInt64, Values: []int64{-1, 2}}, {Type: gguf.TypeBool, Values: []bool{true}}}}},
	}
	specs := []gguf.TensorSpec{
		{Name: "f32", Type: gguf.F32, Shape: []int64{2, 3, 4, 5}},
		{Name: "f16", Type: gguf.F16, Shape: []int64{3, 2}},
		{Name: "bf16", Type: gguf.BF16, Shape: []int64{7}},
		{Name: "f64", Type: gguf.F64, Shape: []int64{1, 2, 3}},
		{Name: "i8", Type: gguf.I8, Shape: []int64{9}},
		{Name: "i16", Type: gguf.I16, Shape: []int64{2, 2}},
		{Name: "i32", Type: gguf.I32, Shape: []int64{3}},
		{Name: "i64", Type: gguf.I64, Shape: []int64{1}},
		{Name: "q8", Type: gguf.Q8_0, Shape: []int64{2, 64}},
		{Name: "q6k", Type: gguf.Q6_K, Shape: []int64{1, 256}},
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, kvs, specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		n := int64(1)
		for _, d := range s.Shape {
			n *= d
		}
		if err := w.Write(s.Name, make([]byte, n/s.Type.BlockSize()*s.Type.TypeSize())); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(written, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(files, written) {
		ours, err := gguf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := parser.ParseGGUFFile(p)
		if err != nil {
			t.Errorf("%s: gguf-parser-go: %v", p, err)
			ours.Close()
			continue
		}
		if uint32(theirs.Header.Version) != ours.Version || len(theirs.Header.MetadataKV) != len(ours.KV) || len(theirs.TensorInfos) != len(ours.Tensors) {
			t.Fatalf("%s: header differs", p)
		}
		for i, kv := range theirs.Header.MetadataKV {
			o := ours.KV[i]
			if kv.Key != o.Key || uint32(kv.ValueType) != uint32(o.Type) || render(kv.Value) != render(o.Value) {
				t.Errorf("%s: kv %d: theirs %s %v %s, ours %s %v %s", p, i, kv.Key, kv.ValueType, render(kv.Value), o.Key, o.Type, render(o.Value))
			}
		}
		for i, ti := range theirs.TensorInfos {
			o := ours.Tensors[i]
			if ti.Name != o.Name || uint32(ti.Type) != uint32(o.Type) || !reflect.DeepEqual(ti.Dimensions, o.Dims) ||
				ti.Offset != o.Offset || int64(ti.Bytes()) != o.NBytes {
				t.Errorf("%s: tensor %d: theirs %+v (%d bytes), ours %+v", p, i, ti, ti.Bytes(), o)
			}
		}
		if theirs.TensorDataStartOffset != ours.DataOffset {
			t.Errorf("%s: data at %d, ours %d", p, theirs.TensorDataStartOffset, ours.DataOffset)
		}
		ours.Close()
	}
}

// render prints a metadata value of either package the same way: scalars
// with %v, arrays as [type: elements].
func render(v any) string {
	switch a := v.(type) {
	case parser.GGUFMetadataKVArrayValue:
		s := fmt.Sprintf("[%d:", uint32(a.Type))
		for _, e := range a.Array {
			s += " " + render(e)
		}
		return s + "]"
	case gguf.Array:
		s := fmt.Sprintf("[%d:", uint32(a.Type))
		rv := reflect.ValueOf(a.Values)
		for i := 0; i < rv.Len(); i++ {
			s += " " + render(rv.Index(i).Interface())
		}
		return s + "]"
	}
	return fmt.Sprintf("%v", v)
}
