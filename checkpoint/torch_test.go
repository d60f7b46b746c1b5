package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pthkit/pth/safetensors"
	"github.com/pthkit/pth/tensor"
)

// TestTorchAgainstSpecFile: the tensors PyTorch saved in all_dtypes.pt are
// byte-identical to those the generator wrote into all_dtypes.safetensors.
func TestTorchAgainstSpecFile(t *testing.T) {
	d, err := DiffFiles(td("safetensors", "all_dtypes.pt"), td("safetensors", "all_dtypes.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Identical != 16 || len(d.OnlyA) != 0 || len(d.Different) != 0 ||
		!reflect.DeepEqual(d.OnlyB, []string{"f8e4m3", "f8e5m2", "u16", "u32", "u64"}) {
		t.Errorf("%+v", d)
	}
}

// TestTorchToSafetensors: converting PyTorch's file gives, byte for byte, what
// safetensors.torch.save_file writes for the same tensors.
func TestTorchToSafetensors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.safetensors")
	r, err := Convert(td("safetensors", "all_dtypes.pt"), out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile(td("safetensors", "all_dtypes_torch.safetensors"))
	if !bytes.Equal(got, want) {
		t.Errorf("differs from the spec writer's file")
	}
	if r.From != Torch || r.To != Safetensors || r.Tensors != 16 || len(r.Shared) != 0 {
		t.Errorf("report %+v", r)
	}
	// A state_dict saved by torch.save keeps _metadata, which safetensors cannot hold.
	r, err = Convert(td("safetensors", "sharded", "model.pt"), out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Dropped, ";") != "metadata _metadata (per-module versions of the state_dict)" {
		t.Errorf("dropped %q", r.Dropped)
	}
}

// TestTiedWeights: tensors sharing a storage are named in a warning and
// written in full into safetensors.
func TestTiedWeights(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tied.safetensors")
	var warned []string
	r, err := Convert(td("safetensors", "tied.pt"), out, Options{Warn: func(m string) { warned = append(warned, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Shared, [][]string{{"embed.weight", "head.weight"}}) || len(warned) != 1 ||
		!strings.Contains(warned[0], "embed.weight, head.weight share storage") {
		t.Errorf("shared %v, warnings %q", r.Shared, warned)
	}
	f, err := safetensors.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, _ := f.Data("embed.weight")
	b, _ := f.Data("head.weight")
	if len(a) != 60 || !bytes.Equal(a, b) {
		t.Errorf("tied tensors: %d bytes, equal %v", len(a), bytes.Equal(a, b))
	}
}

// python returns /usr/bin/python3 when it can import torch; without it the
// test is skipped, except in CI where PyTorch must be present.
func python(t *testing.T) string {
	const py = "/usr/bin/python3"
	pythonOnce.Do(func() { pythonErr = exec.Command(py, "-c", "import torch").Run() })
	if pythonErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: %s with torch is required: %v", py, pythonErr)
		}
		t.Skipf("%s with torch not available: %v", py, pythonErr)
	}
	return py
}

var (
	pythonOnce sync.Once
	pythonErr  error
)

// TestRoundTripThroughPyTorch: PyTorch fixture → safetensors → .pt (and
// float16 safetensors → .pt), then PyTorch itself loads the result and finds
// every tensor equal to the original, dtype and bytes.
func TestRoundTripThroughPyTorch(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	var pairs []string // original, round-tripped; checked in one Python run
	for i, src := range []string{td("safetensors", "all_dtypes.pt"), td("safetensors", "sharded", "model.pt"), td("safetensors", "tied.pt")} {
		st := filepath.Join(dir, fmt.Sprintf("x%d.safetensors", i))
		back := filepath.Join(dir, fmt.Sprintf("back%d.pt", i))
		if _, err := Convert(src, st, Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := Convert(st, back, Options{}); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, src, back)
	}
	script := `
import sys, torch
for src, back in zip(sys.argv[1::2], sys.argv[2::2]):
    a = torch.load(src); b = torch.load(back, weights_only=True)
    assert set(a) == set(b), (src, list(a), list(b))  # safetensors keeps no key order
    for k in a:
        x, y = a[k], b[k]
        assert x.dtype == y.dtype and x.shape == y.shape, (src, k)
        if x.dtype == torch.bfloat16: x, y = x.view(torch.int16), y.view(torch.int16)
        assert x.contiguous().numpy().tobytes() == y.contiguous().numpy().tobytes(), (src, k)
`
	if out, err := exec.Command(py, append([]string{"-c", script}, pairs...)...).CombinedOutput(); err != nil {
		t.Errorf("PyTorch disagrees: %v\n%s", err, out)
	}
	// PyTorch → PyTorch: the fixture engineer's strict checker (structure,
	// OrderedDict and _metadata, bitwise tensors, storage sharing) under
	// weights_only=True.
	back := filepath.Join(dir, "model_back.pt")
	if _, err := Convert(td("safetensors", "sharded", "model.pt"), back, Options{}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, td("gen", "roundtrip_check.py"), td("safetensors", "sharded", "model.pt"), back, "--weights-only").CombinedOutput(); err != nil {
		t.Errorf("roundtrip_check.py: %v\n%s", err, out)
	}
	// PyTorch → PyTorch with --dtype float16: equal to PyTorch's own .half(),
	// and the tied pair still shares one storage.
	back = filepath.Join(dir, "tied16.pt")
	r, err := Convert(td("safetensors", "tied.pt"), back, Options{DType: tensor.Float16})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 0 || len(r.Shared) != 1 {
		t.Errorf("report %+v", r)
	}
	script = `
import sys, torch
a = torch.load(sys.argv[1]); b = torch.load(sys.argv[2], weights_only=True)
assert list(a) == list(b), (list(a), list(b))
for k in a:
    assert b[k].dtype == torch.float16 and torch.equal(b[k], a[k].half()), k
assert b["embed.weight"].data_ptr() == b["head.weight"].data_ptr(), "tie lost"
`
	if out, err := exec.Command(py, "-c", script, td("safetensors", "tied.pt"), back).CombinedOutput(); err != nil {
		t.Errorf("--dtype float16: PyTorch disagrees: %v\n%s", err, out)
	}
}

func TestTorchErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.pt")
	if err := os.WriteFile(p, []byte("PK\x03\x04garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p); err == nil {
		t.Error("garbage zip opened")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.pt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestNPZ: numpy's own .npz reads equal to the model; an .npz written by
// Convert loads in numpy with the same values.
func TestNPZ(t *testing.T) {
	d, err := DiffFiles(td("safetensors", "sharded", "model.npz"), td("safetensors", "sharded"))
	if err != nil || !d.Equal() || d.Identical != 4 {
		t.Fatalf("numpy's npz vs shards: %v %+v", err, d)
	}
	out := filepath.Join(t.TempDir(), "m.npz")
	r, err := Convert(td("safetensors", "sharded"), out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Dropped) != 1 || !strings.Contains(r.Dropped[0], "metadata format") {
		t.Errorf("dropped %q", r.Dropped)
	}
	if _, err := Convert(td("safetensors", "model_bf16.safetensors"), out, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("bfloat16 into npz: %v", err)
	}
	py := python(t)
	script := `
import sys, json, numpy as np
a = np.load(sys.argv[1]); e = json.load(open(sys.argv[2]))
assert sorted(a.files) == sorted(e), a.files
for k, v in e.items():
    assert a[k].dtype == np.float32 and list(a[k].shape) == v["shape"], k
    assert a[k].flatten().tolist() == [float(np.float32(x)) for x in v["values"]], k
`
	if b, err := exec.Command(py, "-c", script, out, td("safetensors", "sharded", "expected.json")).CombinedOutput(); err != nil {
		t.Errorf("numpy disagrees: %v\n%s", err, b)
	}
}

// TestPythonSafetensors loads pth's safetensors output with the Python
// safetensors package where it is installed (it is not a Debian package, so
// its absence is not a CI failure; the spec readers in the safetensors tests
// cover the format).
func TestPythonSafetensors(t *testing.T) {
	py := python(t)
	if err := exec.Command(py, "-c", "import safetensors.torch").Run(); err != nil {
		t.Skip("the Python safetensors package is not installed")
	}
	out := filepath.Join(t.TempDir(), "m.safetensors")
	if _, err := Convert(td("safetensors", "all_dtypes.pt"), out, Options{}); err != nil {
		t.Fatal(err)
	}
	script := `
import sys, torch
from safetensors.torch import load_file
a = torch.load(sys.argv[1]); b = load_file(sys.argv[2])
assert set(a) == set(b)
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), k
`
	if b, err := exec.Command(py, "-c", script, td("safetensors", "all_dtypes.pt"), out).CombinedOutput(); err != nil {
		t.Errorf("safetensors.torch.load_file disagrees: %v\n%s", err, b)
	}
}

// TestViewsSharingStorage: a tensor and its transpose share one storage;
// PyTorch output keeps that (checked by PyTorch), and a cast, which gives
// each view a storage of its own, is warned about.
func TestViewsSharingStorage(t *testing.T) {
	src := td("fixtures", "zip", "byteorder_little.pt")
	dir := t.TempDir()
	cast := filepath.Join(dir, "cast.pt")
	r, err := Convert(src, cast, Options{DType: tensor.Float16})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "f32, f32_t share storage as different views") {
		t.Errorf("warnings %q", r.Warnings)
	}
	same := filepath.Join(dir, "same.pt")
	if _, err := Convert(src, same, Options{}); err != nil {
		t.Fatal(err)
	}
	py := python(t)
	script := `
import sys, torch
a = torch.load(sys.argv[1]); b = torch.load(sys.argv[2], weights_only=True)
assert b["f32_t"].stride() == a["f32_t"].stride() and torch.equal(a["f32_t"], b["f32_t"])
assert b["f32"].storage().data_ptr() == b["f32_t"].storage().data_ptr(), "sharing lost"
`
	if out, err := exec.Command(py, "-c", script, src, same).CombinedOutput(); err != nil {
		t.Errorf("PyTorch: %v\n%s", err, out)
	}
}

// TestGGUFToPyTorch: the unquantized tensors of the GGUF fixture, converted
// to .pt, load in PyTorch with the shapes and values PyTorch recorded when
// the fixture was made (testdata/gguf/mixed.json).
func TestGGUFToPyTorch(t *testing.T) {
	out := filepath.Join(t.TempDir(), "g.pt")
	r, err := Convert(td("gguf", "mixed.gguf"), out, Options{SkipUnsupported: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tensors != 8 {
		t.Errorf("report %+v", r)
	}
	py := python(t)
	script := `
import sys, json, torch
b = torch.load(sys.argv[1], weights_only=True); e = json.load(open(sys.argv[2]))
n = 0
for x in e["tensors"]:
    if x["values"] is None:
        assert x["name"] not in b, x["name"]
        continue
    y = b[x["name"]]
    assert list(y.shape) == x["shape"], (x["name"], y.shape)
    v = y.float().tolist() if y.dtype in (torch.float16, torch.bfloat16) else y.tolist()
    assert v == x["values"], x["name"]
    n += 1
assert n == 8
`
	if b, err := exec.Command(py, "-c", script, out, td("gguf", "mixed.json")).CombinedOutput(); err != nil {
		t.Errorf("PyTorch: %v\n%s", err, b)
	}
}
