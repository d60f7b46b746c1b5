package checkpoint

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pthkit/pth/gguf"
	"github.com/pthkit/pth/safetensors"
	"github.com/pthkit/pth/tensor"
)

func td(parts ...string) string {
	return filepath.Join(append([]string{"..", "testdata"}, parts...)...)
}

// modelValues is testdata/safetensors/sharded/expected.json: PyTorch's values.
func modelValues(t *testing.T) map[string]struct {
	Shape  []int64
	Values []float64
} {
	b, err := os.ReadFile(td("safetensors", "sharded", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]struct {
		Shape  []int64
		Values []float64
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func checkModel(t *testing.T, c Checkpoint) {
	t.Helper()
	want := modelValues(t)
	names := c.Names()
	if got := slices.Sorted(slices.Values(names)); !reflect.DeepEqual(got, []string{"0.bias", "0.weight", "2.bias", "2.weight"}) {
		t.Fatalf("names = %v", names)
	}
	for _, n := range names {
		tt, err := c.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		v, err := tt.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tt.Shape, want[n].Shape) {
			t.Errorf("%s: shape %v, want %v", n, tt.Shape, want[n].Shape)
		}
		for i := range v {
			if float32(v[i]) != float32(want[n].Values[i]) {
				t.Errorf("%s[%d] = %v, want %v", n, i, v[i], want[n].Values[i])
				break
			}
		}
	}
}

func TestOpenShardedIndexAndDirectory(t *testing.T) {
	for _, p := range []string{
		td("safetensors", "sharded", "model.safetensors.index.json"),
		td("safetensors", "sharded"),
	} {
		c, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		checkModel(t, c)
		if c.Metadata()["format"] != "pt" {
			t.Errorf("%s: metadata %v", p, c.Metadata())
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBadIndex(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"escape.index.json": `{"metadata":{},"weight_map":{"a":"../x.safetensors"}}`,
		"abs.index.json":    `{"metadata":{},"weight_map":{"a":"/etc/passwd"}}`,
		"dup.index.json":    `{"metadata":{},"weight_map":{"a":"x.safetensors","a":"y.safetensors"}}`,
		"empty.index.json":  `{"metadata":{},"weight_map":{}}`,
		"junk.index.json":   `{"weight_map":[1]}`,
	}
	for name, body := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(p); !errors.Is(err, ErrIndex) {
			t.Errorf("%s: %v, want ErrIndex", name, err)
		}
	}
}

func TestOpenDetectsFormats(t *testing.T) {
	cases := map[string]Format{
		td("safetensors", "all_dtypes.safetensors"): Safetensors,
		td("gguf", "mixed.gguf"):                    GGUF,
		td("safetensors", "all_dtypes.pt"):          Torch,
		td("safetensors", "sharded"):                Sharded,
	}
	for p, want := range cases {
		if got, err := DetectFormat(p); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", p, got, err, want)
		}
	}
}

// stBytes returns the named tensor's bytes as written by the generator.
func expectedHex(t *testing.T, file string) map[string]string {
	b, err := os.ReadFile(td("safetensors", file))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Tensors map[string]struct{ Hex string }
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for n, x := range e.Tensors {
		out[n] = x.Hex
	}
	return out
}

// TestConvertCastMatchesPyTorch: --dtype float16/bfloat16 gives, byte for
// byte, the file the generator wrote from PyTorch's .half()/.bfloat16().
func TestConvertCastMatchesPyTorch(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		dt   tensor.DType
		file string
	}{{tensor.Float16, "model_f16.safetensors"}, {tensor.BFloat16, "model_bf16.safetensors"}} {
		out := filepath.Join(dir, c.file)
		var calls []int64
		var total int64
		r, err := Convert(td("safetensors", "sharded"), out, Options{DType: c.dt, Progress: func(d, tot int64) { calls = append(calls, d); total = tot }})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(out)
		want, _ := os.ReadFile(td("safetensors", c.file))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: differs from PyTorch's cast", c.file)
		}
		if r.Tensors != 4 || len(calls) != 4 || calls[3] != total || total != r.Bytes || r.Bytes != (12+4+8+2)*2 {
			t.Errorf("report %+v, progress %v of %d", r, calls, total)
		}
	}
}

// TestDiffAgainstPyTorch: the differences Diff reports between the float32
// model and its float16/bfloat16 casts are those PyTorch computed.
func TestDiffAgainstPyTorch(t *testing.T) {
	raw, err := os.ReadFile(td("safetensors", "model_casts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]struct {
		MaxAbs    float64 `json:"max_abs"`
		MaxRel    float64 `json:"max_rel"`
		Differing int64   `json:"differing"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for suffix, w := range want {
		d, err := DiffFiles(td("safetensors", "sharded"), td("safetensors", "model_"+suffix+".safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if d.Equal() || len(d.OnlyA)+len(d.OnlyB) != 0 || len(d.Different) != 4 {
			t.Fatalf("%s: %+v", suffix, d)
		}
		for _, x := range d.Different {
			e := w[x.Name]
			if !x.Compared || x.MaxAbs != e.MaxAbs || x.Differing != e.Differing || math.Abs(x.MaxRel-e.MaxRel) > 1e-6*e.MaxRel {
				t.Errorf("%s %s: %+v, want %+v", suffix, x.Name, x, e)
			}
		}
	}
	d, err := DiffFiles(td("safetensors", "all_dtypes.safetensors"), td("safetensors", "all_dtypes.safetensors"))
	if err != nil || !d.Equal() || d.Identical != 21 {
		t.Errorf("self diff: %v %+v", err, d)
	}
	d, err = DiffFiles(td("safetensors", "sharded"), td("safetensors", "all_dtypes.safetensors"))
	if err != nil || len(d.OnlyA) != 4 || len(d.OnlyB) != 21 || d.Equal() {
		t.Errorf("disjoint diff: %v %+v", err, d)
	}
}

func TestShardedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "shards")
	// Source order is 0.bias(16) 0.weight(48) 2.bias(8) 2.weight(32): a
	// 60-byte limit gives shards [0.bias] [0.weight 2.bias] [2.weight].
	r, err := Convert(td("safetensors", "sharded", "model.safetensors.index.json"), out, Options{ShardSize: 60})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"}
	if !reflect.DeepEqual(r.Files, wantFiles) {
		t.Errorf("files %v", r.Files)
	}
	raw, err := os.ReadFile(filepath.Join(out, "model.safetensors.index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Metadata  map[string]int64
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Metadata["total_size"] != 104 || len(idx.WeightMap) != 4 || idx.WeightMap["2.bias"] != wantFiles[1] || idx.WeightMap["2.weight"] != wantFiles[2] {
		t.Errorf("index %s", raw)
	}
	c, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkModel(t, c)
	src, _ := Open(td("safetensors", "sharded"))
	defer src.Close()
	if d, err := Diff(src, c); err != nil || !d.Equal() {
		t.Errorf("diff after sharding: %v %+v", err, d)
	}
	// PyTorch shards with pytorch_model.bin.index.json read back equal.
	outPT := filepath.Join(dir, "pt_shards")
	r, err = Convert(td("safetensors", "sharded"), outPT, Options{ShardSize: 60, To: Torch})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) != 4 || r.Files[3] != "pytorch_model.bin.index.json" || r.Files[0] != "pytorch_model-00001-of-00003.bin" {
		t.Errorf("files %v", r.Files)
	}
	if d, err := DiffFiles(td("safetensors", "sharded"), outPT); err != nil || !d.Equal() {
		t.Errorf("diff after torch sharding: %v %+v", err, d)
	}
	// The output directory must not exist yet; nothing is left behind on failure.
	if _, err := Convert(td("safetensors", "sharded"), out, Options{ShardSize: 60}); !errors.Is(err, os.ErrExist) {
		t.Errorf("existing output: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("leftovers in %s: %v", dir, ents)
	}
}

// TestGGUFRoundTrip converts the GGUF fixture to safetensors (dropping the
// quantized tensors, reported) and back, and checks the data and names.
func TestGGUFRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "m.safetensors")
	if _, err := Convert(td("gguf", "mixed.gguf"), st, Options{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "blk.0.ffn_up.weight") {
		t.Fatalf("quantized without SkipUnsupported: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed conversion left %v", ents)
	}
	r, err := Convert(td("gguf", "mixed.gguf"), st, Options{SkipUnsupported: true})
	if err != nil {
		t.Fatal(err)
	}
	dropped := strings.Join(r.Dropped, "\n")
	for _, want := range []string{"blk.0.ffn_up.weight (Q8_0 is quantized)", "blk.0.ffn_down.weight (Q4_K is quantized)", "metadata general.alignment (uint32)", "metadata t.arr_str (array)"} {
		if !strings.Contains(dropped, want) {
			t.Errorf("dropped list lacks %q:\n%s", want, dropped)
		}
	}
	f, err := safetensors.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["general.architecture"] != "llama" || f.Metadata["general.name"] != "pth fixture ünï" || f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	g, _ := gguf.Open(td("gguf", "mixed.gguf"))
	defer g.Close()
	for _, ti := range g.Tensors {
		if ti.Type.Quantized() {
			continue
		}
		want, _ := g.Data(ti.Name)
		got, err := f.Data(ti.Name)
		info, _ := f.Lookup(ti.Name)
		if err != nil || !bytes.Equal(got, want) || !reflect.DeepEqual(info.Shape, ti.Shape()) {
			t.Errorf("%s: %v, shape %v want %v", ti.Name, err, info.Shape, ti.Shape())
		}
	}
	// And back to GGUF: every non-quantized tensor identical.
	back := filepath.Join(dir, "back.gguf")
	r, err = Convert(st, back, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Shared, [][]string(nil)) || len(r.KeptAsMetadata) == 0 {
		t.Errorf("report %+v", r)
	}
	d, err := DiffFiles(td("gguf", "mixed.gguf"), back)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.OnlyA) != 2 || len(d.OnlyB) != 0 || len(d.Different) != 0 || d.Identical != 8 {
		t.Errorf("diff %+v", d)
	}
	gb, err := gguf.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Close()
	if gb.Architecture() != "llama" {
		t.Errorf("architecture %q", gb.Architecture())
	}
}

// TestSafetensorsToGGUFDTypes: dtypes GGUF lacks are refused, named, or
// dropped on request; the rest convert with their PyTorch bytes intact.
func TestSafetensorsToGGUFDTypes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.gguf")
	_, err := Convert(td("safetensors", "all_dtypes.safetensors"), out, Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "bool (bool has no GGUF type)") {
		t.Fatalf("%v", err)
	}
	r, err := Convert(td("safetensors", "all_dtypes.safetensors"), out, Options{SkipUnsupported: true})
	if err != nil {
		t.Fatal(err)
	}
	var dropped []string
	for _, d := range r.Dropped {
		dropped = append(dropped, strings.Fields(d)[0])
	}
	sort.Strings(dropped)
	if want := []string{"bool", "c64", "f8e4m3", "f8e5m2", "u16", "u32", "u64", "u8"}; !reflect.DeepEqual(dropped, want) {
		t.Errorf("dropped %v, want %v", dropped, want)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "0-dimensional tensors scalar are written with shape [1]") {
		t.Errorf("warnings %q", r.Warnings)
	}
	hexes := expectedHex(t, "all_dtypes.json")
	g, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if len(g.Tensors) != 13 {
		t.Errorf("%d tensors", len(g.Tensors))
	}
	for _, ti := range g.Tensors {
		b, _ := g.Data(ti.Name)
		if hex.EncodeToString(b) != hexes[ti.Name] {
			t.Errorf("%s: bytes differ", ti.Name)
		}
	}
	if v, _ := g.Get("note"); v != "ünïcode \"quoted\" \\ tab\t" {
		t.Errorf("metadata note = %q", v)
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Convert(td("safetensors", "sharded"), filepath.Join(dir, "x.unknown"), Options{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown extension: %v", err)
	}
	if _, err := Convert(td("safetensors", "sharded"), filepath.Join(dir, "x.safetensors"), Options{DType: tensor.Int8}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("--dtype int8: %v", err)
	}
	if _, err := Convert(td("safetensors", "sharded"), filepath.Join(dir, "no", "such", "x.safetensors"), Options{}); err == nil {
		t.Error("missing directory accepted")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("leftovers %v", ents)
	}
}

// FuzzIndex feeds arbitrary index files to Open: errors, never a panic, and
// never a shard outside the index's directory.
func FuzzIndex(f *testing.F) {
	for _, p := range []string{td("safetensors", "sharded", "model.safetensors.index.json")} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"weight_map":{"a":"../b"}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "model.safetensors.index.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Open(p)
		if err != nil {
			return
		}
		for _, n := range c.Names() {
			_, _ = c.Info(n) // shards are missing: errors expected
		}
		c.Close()
	})
}

// TestDiffQuantized: GGUF quantized tensors are compared by their stored
// bytes: identical files are equal, a changed block is reported.
func TestDiffQuantized(t *testing.T) {
	p := td("gguf", "mixed.gguf")
	d, err := DiffFiles(p, p)
	if err != nil || !d.Equal() || d.Identical != 10 {
		t.Fatalf("%v %+v", err, d)
	}
	g, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	ti, _ := g.Lookup("blk.0.ffn_down.weight")
	at := g.DataOffset + int64(ti.Offset) + 5
	g.Close()
	b, _ := os.ReadFile(p)
	b[at] ^= 1
	q := filepath.Join(t.TempDir(), "changed.gguf")
	if err := os.WriteFile(q, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = DiffFiles(p, q)
	if err != nil || d.Identical != 9 || len(d.Different) != 1 || d.Different[0].Name != "blk.0.ffn_down.weight" ||
		d.Different[0].Note != "bytes differ; data of this dtype is not decoded" {
		t.Errorf("%v %+v", err, d)
	}
}
