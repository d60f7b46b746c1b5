package modtreetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Manifest is testdata/models/manifest.json: model name → Model.
type Manifest map[string]json.RawMessage

// Model is one model's record.
type Model struct {
	StateDict StateDictRecord   `json:"state_dict"`
	Tree      TreeRecord        `json:"tree"`
	Files     map[string]string `json:"files"`
	Script    *Archive          `json:"script"`
	Trace     *Archive          `json:"trace"`
	Input     Array             `json:"input"`
	Output    Array             `json:"output"`
}

// Archive is what torch.jit.load gave back for a TorchScript file.
type Archive struct {
	StateDict StateDictRecord `json:"state_dict"`
	Tree      TreeRecord      `json:"tree"`
}

// Array is a float tensor as JSON.
type Array struct {
	Shape []int64   `json:"shape"`
	Data  []float64 `json:"data"`
}

// StateDictRecord is a recorded state_dict.
type StateDictRecord struct {
	Tensors []struct {
		Key    string  `json:"key"`
		DType  string  `json:"dtype"`
		Shape  []int64 `json:"shape"`
		SHA256 string  `json:"sha256"`
	} `json:"tensors"`
	Metadata [][2]json.RawMessage `json:"metadata"`
}

// TreeRecord is a recorded module tree.
type TreeRecord struct {
	Name          string         `json:"name"`
	Class         string         `json:"class"`
	Training      bool           `json:"training"`
	Attrs         map[string]any `json:"attrs"`
	Parameters    []string       `json:"parameters"`
	Buffers       []string       `json:"buffers"`
	NonPersistent []string       `json:"non_persistent"`
	Children      []TreeRecord   `json:"children"`
}

// Dir returns the directory of the small model fixtures.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "models")
}

// Dir2 returns the directory of the small model fixtures PyTorch 2.6 wrote
// (testdata/gen/torch2_chroot.sh), with their own manifest.json.
func Dir2() string { return filepath.Join(Dir(), "torch2") }

// Dirs returns the directories of every committed set of small model fixtures:
// PyTorch 1.13's and PyTorch 2.6's. Tests run the same checks on each.
func Dirs() []string { return []string{Dir(), Dir2()} }

// Torch reads the PyTorch version recorded in dir's manifest.json.
func Torch(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Torch string `json:"torch"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Torch
}

// LargeDir returns the directory of the large, generated-on-demand fixtures.
func LargeDir() string {
	return filepath.Join(Dir(), "..", "fixtures", "large", "models")
}

// Load reads the manifest in dir.
func Load(t testing.TB, dir string) map[string]*Model {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw Manifest
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]*Model{}
	for name, r := range raw {
		if name == "torch" {
			continue
		}
		m := &Model{}
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber() // keep 10 and 1.0 apart: Python wrote ints and floats differently
		if err := dec.Decode(m); err != nil {
			t.Fatalf("manifest %s: %v", name, err)
		}
		out[name] = m
	}
	return out
}

// CheckStateDict compares sd with PyTorch's record: keys in order, dtypes, shapes,
// sha256 of the contiguous little-endian bytes, and _metadata.
func CheckStateDict(t testing.TB, sd *modtree.StateDict, want StateDictRecord) {
	t.Helper()
	if len(sd.Keys) != len(want.Tensors) {
		t.Errorf("state_dict has %d keys %v, PyTorch %d", len(sd.Keys), sd.Keys, len(want.Tensors))
	}
	for i, w := range want.Tensors {
		if i >= len(sd.Keys) {
			break
		}
		if sd.Keys[i] != w.Key {
			t.Errorf("key %d is %q, PyTorch %q", i, sd.Keys[i], w.Key)
			continue
		}
		tt := sd.Tensors[w.Key]
		if tt.DType.String() != w.DType || !reflect.DeepEqual(append([]int64{}, tt.Shape...), append([]int64{}, w.Shape...)) {
			t.Errorf("%s: %s%v, PyTorch %s%v", w.Key, tt.DType, tt.Shape, w.DType, w.Shape)
			continue
		}
		b, err := tt.ContiguousBytes()
		if err != nil {
			t.Errorf("%s: %v", w.Key, err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != w.SHA256 {
			t.Errorf("%s: sha256 %s, PyTorch %s", w.Key, got, w.SHA256)
		}
	}
	if want.Metadata == nil {
		return
	}
	var got [][2]any
	for _, e := range sd.Metadata.Entries {
		v, _ := e.Value.(*pickle.Dict).Get("version")
		got = append(got, [2]any{e.Key, map[string]any{"version": float64(v.(int64))}})
	}
	var exp [][2]any
	for _, m := range want.Metadata {
		var k string
		var v map[string]any
		if json.Unmarshal(m[0], &k) != nil || json.Unmarshal(m[1], &v) != nil {
			t.Fatalf("bad metadata record %s", m)
		}
		exp = append(exp, [2]any{k, v})
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("_metadata\n got %v\nwant %v", got, exp)
	}
}

// CheckTree compares a recovered tree with PyTorch's record: classes, training flags,
// parameter and buffer names (and non-persistent ones), children. With attrs set,
// every recorded hyper-parameter must be in the node with an equal JSON value.
func CheckTree(t testing.TB, path string, n *modtree.Node, want TreeRecord, attrs bool) {
	t.Helper()
	where := path
	if where == "" {
		where = "(root)"
	}
	if n.Class != want.Class || n.Training != want.Training {
		t.Errorf("%s: class %s training %v, PyTorch %s %v", where, n.Class, n.Training, want.Class, want.Training)
	}
	var params, bufs, nonp []string
	for _, p := range n.Parameters {
		params = append(params, p.Name)
	}
	for _, b := range n.Buffers {
		bufs = append(bufs, b.Name)
		if !b.Persistent {
			nonp = append(nonp, b.Name)
		}
	}
	if !equalStrings(params, want.Parameters) || !equalStrings(bufs, want.Buffers) || !equalStrings(nonp, want.NonPersistent) {
		t.Errorf("%s: parameters %v buffers %v non-persistent %v, PyTorch %v %v %v", where, params, bufs, nonp,
			want.Parameters, want.Buffers, want.NonPersistent)
	}
	if attrs {
		CheckAttrs(t, where, n, want.Attrs, true)
	}
	if len(n.Children) != len(want.Children) {
		t.Errorf("%s: %d children, PyTorch %d", where, len(n.Children), len(want.Children))
		return
	}
	for i, c := range n.Children {
		if c.Name != want.Children[i].Name {
			t.Errorf("%s: child %d is %q, PyTorch %q", where, i, c.Name, want.Children[i].Name)
			continue
		}
		cp := c.Name
		if path != "" {
			cp = path + "." + c.Name
		}
		CheckTree(t, cp, c, want.Children[i], attrs)
	}
}

// CheckAttrs compares n's hyper-parameters with recorded ones (JSON values). With
// all set, every recorded one must be present; otherwise only those n has are compared.
func CheckAttrs(t testing.TB, where string, n *modtree.Node, want map[string]any, all bool) {
	t.Helper()
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var got struct {
		Attrs map[string]any `json:"attrs"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for k, w := range want {
		g, ok := got.Attrs[k]
		if !ok {
			if all {
				t.Errorf("%s: no attribute %s (PyTorch %v)", where, k, w)
			}
			continue
		}
		if !reflect.DeepEqual(numeric(g), numeric(w)) {
			t.Errorf("%s: %s = %v, PyTorch %v", where, k, g, w)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// Python returns /usr/bin/python3 when it can import torch. Without it the test is
// skipped, unless CI is set, where a missing PyTorch is a failure.
func Python(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s cannot import torch: %v", py, err)
		}
		t.Skipf("%s with torch not available: %v", py, err)
	}
	return py
}

// Generator returns the path of testdata/gen/model_fixtures.py.
func Generator() string {
	return filepath.Join(Dir(), "..", "gen", "model_fixtures.py")
}

// numeric turns JSON numbers into float64 so that 1 and 1.0 compare equal, as they do
// in Python.
func numeric(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = numeric(it)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, it := range x {
			out[k] = numeric(it)
		}
		return out
	}
	return v
}

// FromPth makes a modtree.StateDict from the fields of a pth.StateDict.
func FromPth(keys []string, tensors map[string]*tensor.Tensor, metadata *pickle.Dict) *modtree.StateDict {
	return &modtree.StateDict{Keys: keys, Tensors: tensors, Metadata: metadata}
}

// Large returns the directory of the torchvision fixtures (mobilenet_v3_small,
// resnet18), generating them with PyTorch when they are missing. It skips the test in
// -short mode, and when PyTorch is absent unless CI is set.
//
// go test runs the packages that call it (modtree, modfile, torchscript) as
// parallel processes: the generation is serialised by an exclusive lock on
// testdata/fixtures/large/.models.lock (released by the kernel if a process dies
// holding it), and whoever gets the lock second finds the manifest and returns.
// The generator writes every file atomically and manifest.json last, so the
// manifest's presence means the set is complete.
func Large(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("large fixtures in -short mode")
	}
	dir := LargeDir()
	manifest := filepath.Join(dir, "manifest.json")
	if _, err := os.Stat(manifest); err == nil {
		return dir
	}
	py := Python(t)
	lockPath := filepath.Join(filepath.Dir(dir), ".models.lock")
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockFile(lockPath)
	if err != nil {
		t.Fatalf("locking %s: %v", lockPath, err)
	}
	defer unlock()
	if _, err := os.Stat(manifest); err == nil {
		return dir // generated by another test process while we waited
	}
	if out, err := exec.Command(py, Generator(), "--large").CombinedOutput(); err != nil {
		t.Fatalf("generating large fixtures: %v\n%s", err, out)
	}
	if _, err := os.Stat(manifest); err != nil {
		t.Fatalf("the generator wrote no %s: %v", manifest, err)
	}
	return dir
}
